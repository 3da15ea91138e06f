"""Files on the board, for every surface: list, read, write, copy both ways, sync.

Each function takes the kernel's Connection (it holds the board's lock for the call) and
plain arguments, returns plain data (Entry, Transfer, bytes), and raises UsageError for
what was asked wrongly and FileError for what failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..atomic_write import write_atomically
from ..board.filesystem import BoardFiles, Entry, FileError, Progress, Transfer
from ..errors import UsageError
from .connection import Connection

__all__ = [
    "Entry",
    "FileError",
    "SyncPlan",
    "Transfer",
    "digest",
    "disk_usage",
    "get_file",
    "list_files",
    "make_dir",
    "move",
    "plan_get",
    "plan_put",
    "plan_sync",
    "put_file",
    "read_file",
    "relative",
    "remove",
    "remove_dir",
    "stat",
    "write_file",
]


def relative(path: str, base: str) -> str:
    """`path` relative to the board folder `base` ("" and "/" included)."""
    if base == "/" and path.startswith("/"):
        return path[1:]
    if base and path.startswith(base.rstrip("/") + "/"):
        return path[len(base.rstrip("/")) + 1 :]
    return path


def join(*parts: str) -> str:
    """Board path parts joined with "/" (empty parts skipped)."""
    kept = [p for p in parts if p]
    return str(PurePosixPath(*kept)) if kept else ""


def list_files(conn: Connection, path: str = "", recursive: bool = False) -> list[Entry]:
    """Entries under `path` ("" is the current folder; a file lists itself), sorted."""
    with conn.using_files() as fs:
        return fs.ls(path, recursive)


def stat(conn: Connection, path: str) -> Entry | None:
    """The entry at `path`, or None if nothing is there."""
    with conn.using_files() as fs:
        return fs.stat(path)


def _hash_of(fs: BoardFiles, path: str) -> str:
    """A board file's SHA-256: hashed on the board, or (no hashlib there) read back and hashed."""
    return fs.sha256(path) or hashlib.sha256(fs.get(path)[0]).hexdigest()


def digest(conn: Connection, path: str) -> str | None:
    """The SHA-256 of the board file at `path`, or None if there is no file there."""
    with conn.using_files() as fs:
        entry = fs.stat(path)
        return None if entry is None or entry.is_dir else _hash_of(fs, path)


def read_file(conn: Connection, path: str, progress: Progress | None = None) -> bytes:
    """A file's bytes, verified."""
    with conn.using_files() as fs:
        return fs.get(path, progress)[0]


def write_file(
    conn: Connection, path: str, data: bytes, append: bool = False, progress: Progress | None = None
) -> Transfer:
    """Write (or append) bytes to a board file, verified; nothing half-written if it fails."""
    with conn.using_files() as fs:
        if append and fs.stat(path) is not None:
            data = fs.get(path)[0] + data
        return fs.put(data, path, progress)


def remove(conn: Connection, path: str) -> None:
    """Delete a file (a folder is a UsageError: remove_dir)."""
    with conn.using_files() as fs:
        entry = fs.stat(path)
        if entry is not None and entry.is_dir:
            raise UsageError(f"{path} is a folder: use %rmdir.")
        fs.rm(path)


def remove_dir(conn: Connection, path: str) -> None:
    """Remove an empty folder."""
    with conn.using_files() as fs:
        fs.rmdir(path)


def make_dir(conn: Connection, path: str, parents: bool = False) -> None:
    """Create a folder (with `parents`, also the missing ones above it)."""
    with conn.using_files() as fs:
        fs.mkdir(path, parents)


def move(conn: Connection, src: str, dst: str) -> None:
    """Rename or move a file or folder."""
    with conn.using_files() as fs:
        fs.mv(src, dst)


def disk_usage(conn: Connection, path: str = "/") -> tuple[int, int]:
    """(free bytes, total bytes) of the board filesystem holding `path`."""
    with conn.using_files() as fs:
        return fs.df(path)


def put_file(
    conn: Connection,
    local: Path,
    remote: str,
    progress: Progress | None = None,
    into: str | None = None,
) -> Transfer:
    """Copy one file from this computer to the board, verified; with `into`, an existing
    board folder `remote` receives it under that name."""
    try:
        data = Path(local).read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read {local}: {exc.strerror or exc}.") from None
    with conn.using_files() as fs:
        return fs.put(data, remote, progress, into)


def get_file(
    conn: Connection,
    remote: str,
    local: Path,
    progress: Progress | None = None,
    entry: Entry | None = None,
) -> Transfer:
    """Copy one board file to this computer, verified; written under a temporary name first.

    `entry`: what a stat of `remote` just found (saves asking the board again).
    """
    with conn.using_files() as fs:
        data, transfer = fs.get(remote, progress, entry)
    local = Path(local)
    try:
        local.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(local, data)
    except OSError as exc:
        raise FileError(f"Cannot write {local}: {exc.strerror or exc}.") from None
    return transfer


def plan_put(
    conn: Connection, local: Path, remote: str | None, recursive: bool
) -> tuple[list[str], list[tuple[Path, str, str | None]]]:
    """What `%put LOCAL [REMOTE] [-r]` copies: (board folders to create, (file, target,
    name to use inside target if it is a folder)s). A single file's target is not asked
    about here: put_file's `into` settles it along with the transfer."""
    local = Path(local).expanduser()
    if local.is_dir() and not recursive:
        raise UsageError(f"{local} is a folder: use %put -r.")
    if not local.exists():
        raise UsageError(f"No file {local} on this computer.")
    target = remote or local.name
    if not local.is_dir():
        return [], [(local, target, local.name)]
    folders: list[str] = [target]
    files: list[tuple[Path, str, str | None]] = []
    for path in sorted(local.rglob("*")):
        dest = join(target, path.relative_to(local).as_posix())
        if path.is_dir():
            folders.append(dest)
        else:
            files.append((path, dest, None))
    return folders, files


def plan_get(
    conn: Connection, remote: str, local: str | None, recursive: bool
) -> tuple[list[Path], list[tuple[Entry, Path]]]:
    """What `%get REMOTE [LOCAL] [-r]` copies: (local folders to create, (file, target)s)."""
    entry = stat(conn, remote)
    if entry is None:
        raise FileError(f"{remote}: no such file or folder on the board.")
    name = PurePosixPath(remote).name or "board"
    target = Path(local or name).expanduser()
    if not entry.is_dir:
        if target.is_dir():
            target = target / name
        return [], [(entry, target)]
    if not recursive:
        raise UsageError(f"{remote} is a folder: use %get -r.")
    folders, files = [target], []
    for e in list_files(conn, remote, recursive=True):
        dest = target / relative(e.path, remote)
        if e.is_dir:
            folders.append(dest)
        else:
            files.append((e, dest))
    return folders, files


@dataclass
class SyncPlan:
    """What a sync changes: files to copy (local path, board path), board files to remove."""

    copy: list[tuple[Path, str]] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    unchanged: int = 0


def plan_sync(
    conn: Connection,
    local: Path,
    remote: str = "",
    delete: bool = False,
    compiled: Mapping[Path, bytes] | None = None,
) -> SyncPlan:
    """Compare a local folder with a board folder by checksums computed on the board.

    `compiled` maps .py files of the folder to the .mpy bytes that go instead, as NAME.mpy.
    """
    root = Path(local).expanduser()
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder on this computer.")
    compiled = compiled or {}
    mine = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            mine[rel[:-3] + ".mpy" if p in compiled else rel] = p
    plan = SyncPlan()
    with conn.using_files() as fs:
        theirs: dict[str, Entry] = {}
        if not remote or fs.stat(remote) is not None:
            theirs = {relative(e.path, remote): e for e in fs.ls(remote, recursive=True)}
        for rel, path in mine.items():
            data = compiled[path] if path in compiled else path.read_bytes()
            have = theirs.get(rel)
            same = False
            if have is not None and not have.is_dir and have.size == len(data):
                same = fs.same(join(remote, rel), data)
            if same:
                plan.unchanged += 1
            else:
                plan.copy.append((path, join(remote, rel)))
        if delete:
            plan.remove = [
                join(remote, rel) for rel, e in theirs.items() if not e.is_dir and rel not in mine
            ]
    return plan
