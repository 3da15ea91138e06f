"""File magics: %ls %cat %rm %mkdir %rmdir %mv %df %tree %put %get %%writefile %sync."""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..board.filesystem import BoardFiles, Entry, FileError, Transfer
from ..widgets.progress import Progress, human_bytes
from .registry import MagicError, arg, magic

if TYPE_CHECKING:
    from ..kernel import MicroPythonKernel


@contextmanager
def board_files(kernel: MicroPythonKernel) -> Iterator[BoardFiles]:
    """The board's files, with the port held for the duration and errors as one line."""
    board = kernel.require_board()
    with kernel.board_lock:
        try:
            yield BoardFiles(board)
        except FileError as exc:
            raise MagicError(str(exc)) from None


def _relative(path: str, base: str) -> str:
    if base == "/" and path.startswith("/"):
        return path[1:]
    if base and path.startswith(base.rstrip("/") + "/"):
        return path[len(base.rstrip("/")) + 1 :]
    return path


def _join(*parts: str) -> str:
    kept = [p for p in parts if p]
    return str(PurePosixPath(*kept)) if kept else ""


def _summary(verb: str, t: Transfer) -> str:
    return (
        f"{verb} {t.path}: {human_bytes(t.size)} in {t.seconds:.2f} s "
        f"({human_bytes(t.rate)}/s, {t.encoding}, verified by {t.verified})"
    )


@magic("ls")
@arg("path", nargs="?", default="", help="folder or file on the board (default: current)")
@arg("-l", dest="long", action="store_true", help="long listing: sizes and types")
@arg("-r", dest="recursive", action="store_true", help="recurse into folders")
def ls_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """List files on the board (folders end with /)."""
    with board_files(kernel) as fs:
        base = args.path
        entries = fs.ls(base, args.recursive)
    lines = []
    for e in entries:
        name = _relative(e.path, base) + ("/" if e.is_dir else "")
        lines.append(f"{'dir' if e.is_dir else e.size:>9}  {name}" if args.long else name)
    kernel.say("\n".join(lines) + "\n" if lines else "(empty)\n")


@magic("tree")
@arg("path", nargs="?", default="", help="folder on the board (default: current)")
def tree_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Show the board's folders and files as a tree, with sizes."""
    with board_files(kernel) as fs:
        base = args.path
        entries = fs.ls(base, recursive=True)
    lines = [base or "."]
    for e in entries:
        rel = _relative(e.path, base)
        depth = rel.count("/")
        label = rel.rsplit("/", 1)[-1] + ("/" if e.is_dir else f"  ({human_bytes(e.size)})")
        lines.append("    " * depth + "├── " + label)
    kernel.say("\n".join(lines) + "\n")


@magic("cat")
@arg("path", help="file on the board")
def cat_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Show a text file from the board."""
    with board_files(kernel) as fs:
        data, _ = fs.get(args.path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MagicError(
            f"{args.path} is binary ({len(data)} bytes): use %get to copy it here."
        ) from None
    kernel.say(text if text.endswith("\n") or not text else text + "\n")


@magic("rm")
@arg("path", help="file on the board")
def rm_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Delete a file on the board (%rmdir for folders)."""
    with board_files(kernel) as fs:
        entry = fs.stat(args.path)
        if entry is not None and entry.is_dir:
            raise MagicError(f"{args.path} is a folder: use %rmdir.")
        fs.rm(args.path)
    kernel.say(f"Removed {args.path}\n")


@magic("mkdir")
@arg("path", help="folder to create on the board")
@arg("-p", dest="parents", action="store_true", help="create missing parents too")
def mkdir_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Create a folder on the board."""
    with board_files(kernel) as fs:
        fs.mkdir(args.path, args.parents)
    kernel.say(f"Created {args.path}/\n")


@magic("rmdir")
@arg("path", help="empty folder on the board")
def rmdir_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Remove an empty folder on the board."""
    with board_files(kernel) as fs:
        fs.rmdir(args.path)
    kernel.say(f"Removed {args.path}/\n")


@magic("mv")
@arg("src", help="file or folder on the board")
@arg("dst", help="new name or path")
def mv_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Rename or move a file or folder on the board."""
    with board_files(kernel) as fs:
        fs.mv(args.src, args.dst)
    kernel.say(f"Moved {args.src} -> {args.dst}\n")


@magic("df")
def df_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Free and total space on the board's filesystem."""
    with board_files(kernel) as fs:
        free, total = fs.df()
    used = total - free
    pct = 100 * used / total if total else 0
    kernel.say(
        f"{human_bytes(free)} free of {human_bytes(total)} ({human_bytes(used)} used, {pct:.0f}%)\n"
    )


def _put_one(kernel: MicroPythonKernel, fs: BoardFiles, local: Path, remote: str) -> Transfer:
    try:
        data = local.read_bytes()
    except OSError as exc:
        raise MagicError(f"Cannot read {local}: {exc.strerror or exc}.") from None
    bar = Progress(f"put {remote}", len(data))
    try:
        t = fs.put(data, remote, bar.update)
    except (FileError, MagicError) as exc:
        bar.finish(f"put {remote}: failed", ok=False)
        raise MagicError(str(exc)) from None
    except KeyboardInterrupt:
        bar.finish(f"put {remote}: interrupted, nothing written", ok=False)
        raise
    bar.finish(_summary("put", t))
    return t


def _get_one(kernel: MicroPythonKernel, fs: BoardFiles, remote: str, local: Path) -> Transfer:
    entry = fs.stat(remote)
    bar = Progress(f"get {remote}", entry.size if entry else 0)
    try:
        data, t = fs.get(remote, bar.update)
    except (FileError, MagicError) as exc:
        bar.finish(f"get {remote}: failed", ok=False)
        raise MagicError(str(exc)) from None
    temp = local.with_name(local.name + ".part")
    try:
        local.parent.mkdir(parents=True, exist_ok=True)
        temp.write_bytes(data)
        os.replace(temp, local)
    except OSError as exc:
        raise MagicError(f"Cannot write {local}: {exc.strerror or exc}.") from None
    bar.finish(_summary("get", t))
    return t


@magic("put")
@arg("local", help="file (or folder with -r) on this computer")
@arg("remote", nargs="?", help="where on the board (default: same name)")
@arg("-r", dest="recursive", action="store_true", help="copy a folder and its contents")
def put_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Copy a file (or folder, -r) from this computer to the board, verified."""
    local = Path(args.local).expanduser()
    if local.is_dir() and not args.recursive:
        raise MagicError(f"{local} is a folder: use %put -r.")
    if not local.exists():
        raise MagicError(f"No file {local} on this computer.")
    remote = args.remote or local.name
    with board_files(kernel) as fs:
        if not local.is_dir():
            entry = fs.stat(remote)
            if entry is not None and entry.is_dir:
                remote = _join(remote, local.name)
            _put_one(kernel, fs, local, remote)
            return
        fs.mkdir(remote, parents=True)
        for path in sorted(local.rglob("*")):
            target = _join(remote, path.relative_to(local).as_posix())
            if path.is_dir():
                fs.mkdir(target, parents=True)
            else:
                _put_one(kernel, fs, path, target)


@magic("get")
@arg("remote", help="file (or folder with -r) on the board")
@arg("local", nargs="?", help="where on this computer (default: same name, here)")
@arg("-r", dest="recursive", action="store_true", help="copy a folder and its contents")
def get_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Copy a file (or folder, -r) from the board to this computer, verified."""
    with board_files(kernel) as fs:
        entry = fs.stat(args.remote)
        if entry is None:
            raise MagicError(f"{args.remote}: no such file or folder on the board.")
        name = PurePosixPath(args.remote).name or "board"
        local = Path(args.local or name).expanduser()
        if not entry.is_dir:
            if local.is_dir():
                local = local / name
            _get_one(kernel, fs, args.remote, local)
            return
        if not args.recursive:
            raise MagicError(f"{args.remote} is a folder: use %get -r.")
        local.mkdir(parents=True, exist_ok=True)
        for e in fs.ls(args.remote, recursive=True):
            target = local / _relative(e.path, args.remote)
            if e.is_dir:
                target.mkdir(parents=True, exist_ok=True)
            else:
                _get_one(kernel, fs, e.path, target)


@magic("writefile", cell=True)
@arg("path", help="file on the board")
@arg("-a", dest="append", action="store_true", help="append instead of replacing")
def writefile_magic(kernel: MicroPythonKernel, args: argparse.Namespace, body: str) -> None:
    """Write the cell's text to a file on the board (-a appends)."""
    data = body.encode()
    with board_files(kernel) as fs:
        if args.append:
            entry = fs.stat(args.path)
            if entry is not None:
                data = fs.get(args.path)[0] + data
        t = fs.put(data, args.path)
    kernel.say(f"{'Appended to' if args.append else 'Wrote'} {args.path} ({t.size} bytes)\n")


def _local_files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


@magic("sync")
@arg("local", help="folder on this computer")
@arg("remote", nargs="?", default="", help="folder on the board (default: current)")
@arg("--delete", action="store_true", help="remove board files that are not in LOCAL")
@arg("--dry-run", action="store_true", help="only say what would change")
def sync_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Copy to the board only the files whose content differs (SHA-256 on the board)."""
    root = Path(args.local).expanduser()
    if not root.is_dir():
        raise MagicError(f"{root} is not a folder on this computer.")
    local = _local_files(root)
    copied = skipped = removed = 0
    with board_files(kernel) as fs:
        base = args.remote
        if base and fs.stat(base) is None and not args.dry_run:
            fs.mkdir(base, parents=True)
        remote: dict[str, Entry] = {}
        if not base or fs.stat(base) is not None:
            remote = {_relative(e.path, base): e for e in fs.ls(base, recursive=True)}
        for rel, path in local.items():
            data = path.read_bytes()
            have = remote.get(rel)
            same = False
            if have is not None and not have.is_dir and have.size == len(data):
                target = _join(base, rel)
                digest = fs.sha256(target)
                same = (
                    digest == hashlib.sha256(data).hexdigest()
                    if digest is not None
                    else fs.get(target)[0] == data
                )
            if same:
                skipped += 1
                continue
            kernel.say(f"{'would copy' if args.dry_run else 'copy'} {rel}\n")
            if not args.dry_run:
                parent = str(PurePosixPath(rel).parent)
                if parent != ".":
                    fs.mkdir(_join(base, parent), parents=True)
                _put_one(kernel, fs, path, _join(base, rel))
            copied += 1
        if args.delete:
            extras = [rel for rel, e in remote.items() if not e.is_dir and rel not in local]
            for rel in extras:
                kernel.say(f"{'would remove' if args.dry_run else 'remove'} {rel}\n")
                if not args.dry_run:
                    fs.rm(_join(base, rel))
                removed += 1
    verb = "would copy" if args.dry_run else "copied"
    kernel.say(
        f"sync: {verb} {copied}, unchanged {skipped}"
        + (f", {'would remove' if args.dry_run else 'removed'} {removed}" if args.delete else "")
        + "\n"
    )
