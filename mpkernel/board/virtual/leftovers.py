"""Board folders left in the temp folder: a virtual board removes its own when it stops, but
older versions did not when their kernel was killed, nor does a board killed outright
(SIGKILL). A new board sweeps them, from the process that starts it (the board's own
process forks MicroPython, so it runs no thread): only this account's folders, never one
that a process still uses (its current folder or an open file there: a running board's
MicroPython works in it, its host process holds it open), nor one changed in the last
minute (being set up), nor any while a board restarts its MicroPython.

Linux only (it asks /proc who uses what); elsewhere nothing is swept.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

PREFIX = "mpkernel-board-"
#: A folder changed this recently (seconds) may belong to a board starting up: kept.
SETTLED = 60.0


def sweep(keep: Path | None = None, folder: str | None = None) -> list[Path]:
    """Remove this account's stale board folders from the temp folder (`folder`); return
    them. `keep`: the caller's own folder."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    candidates = _stale(Path(folder or tempfile.gettempdir()).resolve(), keep)
    if not candidates:
        return []
    used = _in_use(proc)
    if used is None:
        return []  # a board is restarting: its folder may look unused just now
    removed = []
    for path in candidates:
        if any(u == path or path in u.parents for u in used):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _stale(top: Path, keep: Path | None) -> list[Path]:
    """Board folders of this account in `top` that nothing changed for SETTLED seconds."""
    found = []
    now = time.time()
    try:
        entries = [e for e in os.scandir(top) if e.name.startswith(PREFIX)]
    except OSError:
        return []
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        path = Path(entry.path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue  # a link, a file, or another account's: never ours to remove
        if now - info.st_mtime < SETTLED or (keep is not None and path == keep):
            continue
        found.append(path)
    return found


def _in_use(proc: Path) -> set[Path] | None:
    """Folders and files this account's processes work in or hold open; None while a
    board's host process has no MicroPython (it restarts it: older versions hold nothing
    open in their folder, so that folder looks unused until the new one starts)."""
    used: set[Path] = set()
    me = os.getuid()
    for pid in proc.iterdir():
        if not pid.name.isdigit() or int(pid.name) == os.getpid():
            continue  # not a process, or the board sweeping (its MicroPython may not run yet)
        try:
            if pid.stat().st_uid != me:
                continue
            if _is_board_host(pid, proc):
                children = pid / "task" / pid.name / "children"
                if not children.read_text().split():
                    return None
            links = [pid / "cwd", *(pid / "fd").iterdir()]
        except OSError:
            continue  # gone meanwhile, or not ours to look at
        for link in links:
            try:
                used.add(Path(os.readlink(link)))
            except OSError:
                continue
    return used


_HOST = b"mpkernel.board.virtual.board"


def _is_board_host(pid: Path, proc: Path) -> bool:
    """Whether `pid` is a board's host process: its command line names the board module and
    its parent's does not (the board's MicroPython is forked from its host and shares its
    command line)."""
    if _HOST not in (pid / "cmdline").read_bytes():
        return False
    for line in (pid / "status").read_text().splitlines():
        if line.startswith("PPid:"):
            try:
                return _HOST not in (proc / line.split()[1] / "cmdline").read_bytes()
            except OSError:
                return True
    return True
