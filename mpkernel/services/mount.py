"""Mounting a folder of this computer on the board (%mount, %umount) for every surface."""

from __future__ import annotations

from pathlib import Path

from ..board.mount import MOUNT_POINT, MountError
from ..errors import UsageError
from .connection import Connection

__all__ = ["MOUNT_POINT", "MountError", "mount", "mounted", "unmount"]


def mount(conn: Connection, folder: str) -> Path:
    """Mount `folder` (of this computer) at MOUNT_POINT as the board's current folder;
    returns the folder's full path. UsageError if it is not a folder."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a folder"
        raise UsageError(
            f"{folder}: {what} on this computer: give a folder, e.g. %mount . for the "
            "notebook's folder."
        )
    with conn.using() as board:
        return board.mount_folder(path).root


def unmount(conn: Connection) -> Path | None:
    """Unmount the mounted folder; the one that was mounted, or None."""
    board = conn.board
    if board is None or board.mount is None:
        return None
    with conn.lock:
        server = board.unmount()
    return server.root if server is not None else None


def mounted(conn: Connection) -> Path | None:
    """The folder of this computer mounted on the connected board, if any."""
    board = conn.board
    return board.mount.root if board is not None and board.mount is not None else None
