"""File magics: %ls %cat %rm %mkdir %rmdir %mv %df %tree %put %get %%writefile %sync."""

from __future__ import annotations

import argparse
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..errors import OperationError, UsageError
from ..libraries.board_libs import compile_for, shadowed
from ..libraries.mpy import mpy_name
from ..services import files
from ..services.files import Entry, FileError, Transfer, relative
from ..units import human_bytes
from ..widgets.progress import Progress
from .libraries import warn_shadowed
from .registry import arg, magic

if TYPE_CHECKING:
    from ..services.context import Context


def _summary(verb: str, t: Transfer) -> str:
    return (
        f"{verb} {t.path}: {human_bytes(t.size)} in {t.seconds:.2f} s "
        f"({human_bytes(t.rate)}/s, {t.encoding}, verified by {t.verified})"
    )


@magic("ls")
@arg("path", nargs="?", default="", help="folder or file on the board (default: current)")
@arg("-l", dest="long", action="store_true", help="long listing: sizes and types")
@arg("-r", dest="recursive", action="store_true", help="recurse into folders")
def ls_magic(kernel: Context, args: argparse.Namespace) -> None:
    """List files on the board (folders end with /)."""
    entries = files.list_files(kernel.connection, args.path, args.recursive)
    lines = []
    for e in entries:
        name = relative(e.path, args.path) + ("/" if e.is_dir else "")
        lines.append(f"{'dir' if e.is_dir else e.size:>9}  {name}" if args.long else name)
    kernel.say("\n".join(lines) + "\n" if lines else "(empty)\n")


@magic("tree")
@arg("path", nargs="?", default="", help="folder on the board (default: current)")
def tree_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Show the board's folders and files as a tree, with sizes."""
    base = args.path
    entries = files.list_files(kernel.connection, base, recursive=True)
    labels = {
        relative(e.path, base): ("/" if e.is_dir else f"  ({human_bytes(e.size)})") for e in entries
    }
    kernel.say("\n".join([base or ".", *tree_lines(labels)]) + "\n")


def tree_lines(labels: dict[str, str]) -> list[str]:
    """Tree drawing of relative paths ("a", "a/b"...), each name followed by its label."""
    children: dict[str, list[str]] = {}
    for rel in labels:
        parent = rel.rpartition("/")[0]
        children.setdefault(parent if parent in labels else "", []).append(rel)
    lines: list[str] = []

    def draw(parent: str, indent: str) -> None:
        kids = sorted(children.get(parent, []))
        for i, rel in enumerate(kids):
            last = i == len(kids) - 1
            name = rel[len(parent) + 1 :] if parent else rel
            lines.append(indent + ("└── " if last else "├── ") + name + labels[rel])
            draw(rel, indent + ("    " if last else "│   "))

    draw("", "")
    return lines


@magic("cat")
@arg("path", help="file on the board")
def cat_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Show a text file from the board."""
    data = files.read_file(kernel.connection, args.path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"{args.path} is binary ({len(data)} bytes): use %get to copy it here."
        ) from None
    kernel.say(text if text.endswith("\n") or not text else text + "\n")


@magic("rm")
@arg("path", help="file on the board")
def rm_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Delete a file on the board (%rmdir for folders)."""
    files.remove(kernel.connection, args.path)
    kernel.say(f"Removed {args.path}\n")


@magic("mkdir")
@arg("path", help="folder to create on the board")
@arg("-p", dest="parents", action="store_true", help="create missing parents too")
def mkdir_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Create a folder on the board (-p: and the missing folders above it)."""
    try:
        files.make_dir(kernel.connection, args.path, args.parents)
    except FileError as exc:
        parent = str(PurePosixPath(args.path).parent)
        if args.parents or parent in (".", "/") or files.stat(kernel.connection, parent):
            raise
        raise FileError(
            f"{exc} ({parent} does not exist: %mkdir -p {args.path} creates it too)"
        ) from None
    kernel.say(f"Created {args.path}/\n")


@magic("rmdir")
@arg("path", help="empty folder on the board")
def rmdir_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Remove an empty folder on the board."""
    files.remove_dir(kernel.connection, args.path)
    kernel.say(f"Removed {args.path}/\n")


@magic("mv")
@arg("src", help="file or folder on the board")
@arg("dst", help="new name or path")
def mv_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Rename or move a file or folder on the board."""
    files.move(kernel.connection, args.src, args.dst)
    kernel.say(f"Moved {args.src} -> {args.dst}\n")


@magic("df")
def df_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Free and total space on the board's filesystem."""
    free, total = files.disk_usage(kernel.connection)
    used = total - free
    pct = 100 * used / total if total else 0
    kernel.say(
        f"{human_bytes(free)} free of {human_bytes(total)} ({human_bytes(used)} used, {pct:.0f}%)\n"
    )


def _put_one(
    kernel: Context,
    local: Path,
    remote: str,
    compiled: dict[Path, bytes] | None = None,
    into: str | None = None,
) -> Transfer:
    """Copy one file with a progress bar; a file in `compiled` goes as its .mpy instead."""
    conn = kernel.connection
    data = (compiled or {}).get(local)
    if data is not None:
        remote = mpy_name(remote)
    size = len(data) if data is not None else local.stat().st_size if local.is_file() else 0
    bar = Progress(f"put {remote}", size)
    try:
        if data is not None:
            t = files.write_file(conn, remote, data, progress=bar.update)
        else:
            t = files.put_file(conn, local, remote, bar.update, into)
    except (UsageError, OperationError):
        bar.finish(f"put {remote}: failed", ok=False)
        raise
    except KeyboardInterrupt:
        bar.finish(f"put {remote}: interrupted, nothing written", ok=False)
        raise
    bar.finish(_summary("put", t))
    return t


def _get_one(kernel: Context, entry: Entry, local: Path) -> Transfer:
    remote = entry.path
    bar = Progress(f"get {remote}", entry.size)
    try:
        t = files.get_file(kernel.connection, remote, local, bar.update, entry)
    except (UsageError, OperationError):
        bar.finish(f"get {remote}: failed", ok=False)
        raise
    bar.finish(_summary("get", t))
    return t


@magic("put")
@arg("local", help="file (or folder with -r) on this computer")
@arg("remote", nargs="?", help="where on the board (default: same name)")
@arg("-r", dest="recursive", action="store_true", help="copy a folder and its contents")
@arg("--mpy", action="store_true", help="compile .py to .mpy here first (mpy-cross)")
def put_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Copy a file (or folder, -r) from this computer to the board, verified.

    With --mpy, every .py is compiled for the board first (nothing is written if one does
    not compile) and goes as NAME.mpy; boot.py and main.py stay source.
    """
    conn = kernel.connection
    folders, todo = files.plan_put(conn, Path(args.local), args.remote, args.recursive)
    compiled = compile_for(conn, [local for local, _, _ in todo]) if args.mpy else {}
    for folder in folders:
        files.make_dir(conn, folder, parents=True)
    written = [_put_one(kernel, local, remote, compiled, into).path for local, remote, into in todo]
    if compiled:
        warn_shadowed(kernel, shadowed(conn, written))


@magic("get")
@arg("remote", help="file (or folder with -r) on the board")
@arg("local", nargs="?", help="where on this computer (default: same name, here)")
@arg("-r", dest="recursive", action="store_true", help="copy a folder and its contents")
def get_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Copy a file (or folder, -r) from the board to this computer, verified."""
    folders, todo = files.plan_get(kernel.connection, args.remote, args.local, args.recursive)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    for entry, local in todo:
        _get_one(kernel, entry, local)


@magic("writefile", cell=True)
@arg("path", help="file on the board")
@arg("-a", dest="append", action="store_true", help="append instead of replacing")
def writefile_magic(kernel: Context, args: argparse.Namespace, body: str) -> None:
    """Write the cell's text to a file on the board (-a appends)."""
    t = files.write_file(kernel.connection, args.path, body.encode(), args.append)
    kernel.say(f"{'Appended to' if args.append else 'Wrote'} {args.path} ({t.size} bytes)\n")


@magic("sync")
@arg("local", help="folder on this computer")
@arg("remote", nargs="?", default="", help="folder on the board (default: current)")
@arg("--delete", action="store_true", help="remove board files that are not in LOCAL")
@arg("--dry-run", action="store_true", help="only say what would change")
@arg("--mpy", action="store_true", help="compile .py to .mpy here first (mpy-cross)")
def sync_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Copy to the board only the files whose content differs (SHA-256 on the board).

    With --mpy, .py files are compared and copied as the NAME.mpy compiled for the board.
    """
    conn = kernel.connection
    base = args.remote
    root = Path(args.local).expanduser()
    compiled = {}
    if args.mpy and root.is_dir():
        compiled = compile_for(conn, [p for p in sorted(root.rglob("*.py")) if p.is_file()])
    wanted = base and not args.dry_run and root.is_dir()
    if wanted and files.stat(conn, base) is None:
        files.make_dir(conn, base, parents=True)
    plan = files.plan_sync(conn, root, base, args.delete, compiled)
    for path, target in plan.copy:
        rel = relative(target, base)
        kernel.say(f"{'would copy' if args.dry_run else 'copy'} {rel}\n")
        if not args.dry_run:
            parent = str(PurePosixPath(rel).parent)
            if parent != ".":
                files.make_dir(conn, files.join(base, parent), parents=True)
            _put_one(kernel, path, target, compiled)
    for target in plan.remove:
        kernel.say(f"{'would remove' if args.dry_run else 'remove'} {relative(target, base)}\n")
        if not args.dry_run:
            files.remove(conn, target)
    if compiled and not args.dry_run:
        mpys = [files.join(base, mpy_name(p.relative_to(root).as_posix())) for p in compiled]
        warn_shadowed(kernel, shadowed(conn, mpys))
    verb = "would copy" if args.dry_run else "copied"
    removed = len(plan.remove)
    kernel.say(
        f"sync: {verb} {len(plan.copy)}, unchanged {plan.unchanged}"
        + (f", {'would remove' if args.dry_run else 'removed'} {removed}" if args.delete else "")
        + "\n"
    )
