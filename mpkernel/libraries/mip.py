"""The mip package format, as pure logic: which URLs to read and which files to write.

Facts from micropython-lib's index (v2) and `mip`/`mpremote mip`:

- a package's description is `{index}/package/{py|MPY}/{name}/{version|latest}.json`,
  MPY being the board's .mpy major version (`sys.implementation._mpy & 0xFF`);
- it holds `hashes` ([path, short SHA-256]: fetched from `{index}/file/{h[:2]}/{h}`),
  `urls` ([path, URL]: relative URLs are relative to the description), `deps`
  ([name, version]) and `version`;
- `github:org/repo[/path]` and `gitlab:…` name a file or folder in a repository; a version
  given with them is a branch or tag (default: the repository's HEAD); a folder means its
  `package.json`; a URL ending in `.py`/`.mpy` is a single file installed as it is.

Nothing here does I/O: the installer reads what these functions say to read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import OperationError, UsageError

DEFAULT_INDEX = "https://micropython.org/pi/v2"

#: Where the short forms point (https:// is added): org, repo, branch, then the path.
_HOSTS = {
    "github:": "raw.githubusercontent.com/{org}/{repo}/{branch}/{path}",
    "gitlab:": "gitlab.com/{org}/{repo}/-/raw/{branch}/{path}",
    "codeberg:": "codeberg.org/api/v1/repos/{org}/{repo}/raw/{path}?ref={branch}",
}
URL_PREFIXES = ("http://", "https://", *_HOSTS)
#: Files that must stay source: the board runs them by name.
KEEP_SOURCE = ("boot.py", "main.py")


class LibraryError(OperationError):
    """A package cannot be installed; the message is one line naming it."""


@dataclass(frozen=True)
class Spec:
    """One thing to install, as typed: `name[@version]` or a URL form."""

    name: str
    version: str | None = None

    @property
    def is_url(self) -> bool:
        return self.name.startswith(URL_PREFIXES)

    @property
    def is_single_file(self) -> bool:
        return self.is_url and self.name.endswith((".py", ".mpy"))

    def __str__(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name


def parse_spec(text: str) -> Spec:
    """`name`, `name@1.2`, `github:org/repo@branch`… -> Spec (UsageError if it is none)."""
    text = text.strip()
    name, version = text, ""
    if "@" in text and not text.startswith(("http://", "https://")):
        name, _, version = text.rpartition("@")
        if not name or not version:
            raise UsageError(f"{text!r}: expected NAME or NAME@VERSION.")
    if not name or name.startswith(("@", "-")):
        raise UsageError(f"{text!r}: expected NAME or NAME@VERSION.")
    if not name.startswith(URL_PREFIXES) and any(c in name for c in " \\?#"):
        raise UsageError(f"{name}: not a package name or a github:/gitlab:/http(s) URL.")
    if name.startswith(tuple(_HOSTS)) and name.split(":", 1)[1].count("/") < 1:
        raise UsageError(f"{name}: expected {name.split(':')[0]}:ORG/REPO[/PATH][@BRANCH].")
    return Spec(name, version or None)


def rewrite_url(url: str, branch: str | None = None) -> str:
    """github:/gitlab:/codeberg: forms -> the https URL of the raw file; others unchanged."""
    for prefix, form in _HOSTS.items():
        if url.startswith(prefix):
            org, repo, *path = url[len(prefix) :].split("/")
            return "https://" + form.format(
                org=org, repo=repo, branch=branch or "HEAD", path="/".join(path)
            )
    return url


def mpy_tag(mpy: int | None) -> str:
    """The index folder for a board: its .mpy major version, or "py" for source."""
    return str(mpy & 0xFF) if mpy else "py"


def description_url(spec: Spec, index: str, tag: str) -> str:
    """Where the package's JSON description is (for anything but a single-file URL)."""
    if spec.is_url:
        url = spec.name
        if not url.endswith(".json"):
            url = url.rstrip("/") + "/package.json"
        return rewrite_url(url, spec.version)
    return f"{index.rstrip('/')}/package/{tag}/{spec.name}/{spec.version or 'latest'}.json"


def file_url(index: str, short_hash: str) -> str:
    return f"{index.rstrip('/')}/file/{short_hash[:2]}/{short_hash}"


@dataclass
class FileToGet:
    """One file of a package: where it goes (relative to the target) and where it comes from."""

    path: str
    url: str
    short_hash: str | None = None  # from the index: checked before anything is written


@dataclass
class Package:
    """A package's description, read."""

    name: str
    version: str
    files: list[FileToGet] = field(default_factory=list)
    deps: list[Spec] = field(default_factory=list)


def _relative_path(path: Any, package: str) -> str:
    """A file path inside the target: relative, no `..` (a description cannot write elsewhere)."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
        raise LibraryError(f"{package}: the description names a bad file path {path!r}.")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise LibraryError(f"{package}: the description names a bad file path {path!r}.")
    return path


def parse_description(doc: Any, spec: Spec, url: str, index: str) -> Package:
    """Read a package description (the JSON document at `url`)."""
    name = str(spec)
    if not isinstance(doc, dict):
        raise LibraryError(f"{name}: {url} is not a package description.")
    try:
        hashes = list(doc.get("hashes", ()))
        urls = list(doc.get("urls", ()))
        deps = list(doc.get("deps", ()))
    except TypeError:
        raise LibraryError(f"{name}: {url} is not a package description.") from None
    files: list[FileToGet] = []
    for entry in hashes:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str)):
            raise LibraryError(f"{name}: bad entry {entry!r} in 'hashes' of {url}.")
        path, short = _relative_path(entry[0], name), entry[1].lower()
        if len(short) < 8 or any(c not in "0123456789abcdef" for c in short):
            raise LibraryError(f"{name}: bad hash {entry[1]!r} for {path} in {url}.")
        files.append(FileToGet(path, file_url(index, short), short))
    base = url.rpartition("/")[0]
    for entry in urls:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str)):
            raise LibraryError(f"{name}: bad entry {entry!r} in 'urls' of {url}.")
        path, source = _relative_path(entry[0], name), entry[1]
        if not source.startswith(URL_PREFIXES):
            source = f"{base}/{source}"
        files.append(FileToGet(path, rewrite_url(source, spec.version)))
    needs: list[Spec] = []
    for entry in deps:
        if isinstance(entry, str):
            entry = [entry, None]
        if not (isinstance(entry, list) and entry and isinstance(entry[0], str)):
            raise LibraryError(f"{name}: bad entry {entry!r} in 'deps' of {url}.")
        version = entry[1] if len(entry) > 1 and entry[1] not in ("", "latest") else None
        needs.append(Spec(entry[0], str(version) if version is not None else None))
    version = doc.get("version")
    shown = str(version) if version else (spec.version or "latest")
    return Package(name=spec.name, version=shown, files=files, deps=needs)


def single_file(spec: Spec) -> Package:
    """A URL to one .py/.mpy file: a package of that file alone."""
    filename = spec.name.rstrip("/").rsplit("/", 1)[-1]
    url = rewrite_url(spec.name, spec.version)
    return Package(spec.name, spec.version or "", [FileToGet(filename, url)])


def hash_matches(data: bytes, short_hash: str) -> bool:
    """Whether data's SHA-256 starts with the index's short hash."""
    return hashlib.sha256(data).hexdigest().startswith(short_hash.lower())


def lib_folder(sys_path: list[str]) -> str | None:
    """The board's library folder as mpremote chooses it: the first `sys.path` entry that
    ends in `/lib`, not in /rom. A bare `lib` (the unix port's relative path) counts too."""
    for entry in sys_path:
        if (
            isinstance(entry, str)
            and not entry.startswith("/rom")
            and (entry.endswith("/lib") or entry == "lib")
        ):
            return entry
    return None


def target_path(target: str, path: str) -> str:
    """A file's path on the board: `path` inside the `target` folder."""
    return f"{target.rstrip('/')}/{path}" if target.rstrip("/") else f"/{path}"


def needs_compiling(path: str, compile_py: bool) -> bool:
    """Whether a fetched file should be compiled to .mpy before it is written."""
    return compile_py and path.endswith(".py") and path.rsplit("/", 1)[-1] not in KEEP_SOURCE


def space_needed(sizes: list[int], block: int) -> int:
    """Bytes of storage that files of these sizes take: whole blocks, plus one for folders."""
    block = max(block, 1)
    return sum(-(-size // block) * block for size in sizes) + block


def check_fits(names: list[str], sizes: list[int], free: int, block: int, target: str) -> None:
    """Raise LibraryError unless files of these sizes fit in `free` bytes (blocks of `block`)."""
    need = space_needed(sizes, block)
    if sizes and need > free:
        raise LibraryError(
            f"{', '.join(names)}: needs {need:,} bytes on the board but {target} has "
            f"{free:,} free: nothing written (free some space: %df, %rm)."
        )
