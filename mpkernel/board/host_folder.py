"""A folder on this computer as a mounted board filesystem sees it (see mount.py).

Board paths are resolved inside the folder: `..` never climbs above it, and a path whose
real location (links followed) is outside it is refused with EACCES, as is a name with a
control character. Everything else fails as the host's OS says, by errno.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

S_IFDIR, S_IFREG = 0x4000, 0x8000  # the file types a MicroPython VFS reports
MAX_OPEN = 32  # files the board may hold open at once


class HostFolder:
    """Serves one folder: paths checked, files opened for the board kept by number."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._files: dict[int, BinaryIO] = {}
        self._next = 1

    def path(self, board_path: str) -> Path:
        """The host path of a board path ("/a/b", relative to the mount); OSError if it
        leaves the folder."""
        if any(ord(c) < 32 for c in board_path):
            raise OSError(errno.EINVAL, "control character in a path")
        parts: list[str] = []
        for part in board_path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise OSError(errno.EACCES, "outside the mounted folder")
                parts.pop()
            else:
                parts.append(part)
        full = self.root.joinpath(*parts)
        real = full.resolve()
        if real != self.root and self.root not in real.parents:
            raise OSError(errno.EACCES, "outside the mounted folder")
        return full

    def board_path(self, board_path: str) -> str:
        """The folder `board_path` names, normalised ("/a/b"), for chdir."""
        full = self.path(board_path)
        if not full.is_dir():
            raise OSError(errno.ENOTDIR if full.exists() else errno.ENOENT, board_path)
        rel = full.relative_to(self.root).as_posix()
        return "/" if rel == "." else "/" + rel

    def stat(self, board_path: str) -> tuple[int, ...]:
        """os.stat's 10 numbers as a board's VFS gives them."""
        st = self.path(board_path).stat()
        kind = S_IFDIR if stat.S_ISDIR(st.st_mode) else S_IFREG
        size = 0 if kind == S_IFDIR else st.st_size
        t = int(st.st_mtime)
        return (kind, 0, 0, 0, 0, 0, size, t, t, t)

    def statvfs(self, board_path: str) -> tuple[int, ...]:
        v = os.statvfs(self.path(board_path))
        return (v.f_bsize, v.f_frsize, v.f_blocks, v.f_bfree, v.f_bavail,
                v.f_files, v.f_ffree, v.f_favail, 0, v.f_namemax)  # fmt: skip

    def listdir(self, board_path: str) -> list[tuple[str, int, int]]:
        """(name, type, size) of each entry; links that lead out of the folder are left out."""
        folder = self.path(board_path)
        entries = []
        with os.scandir(folder) as found:
            for entry in found:
                try:
                    self.path(f"{board_path}/{entry.name}")
                    is_dir = entry.is_dir()
                    size = 0 if is_dir else entry.stat().st_size
                except OSError:
                    continue
                entries.append((entry.name, S_IFDIR if is_dir else S_IFREG, size))
        return sorted(entries)

    def open(self, board_path: str, mode: str) -> int:
        """Open a file for the board (modes r, w, a, with or without b and +); its number."""
        kind = mode.replace("b", "").replace("t", "")
        if kind not in ("r", "w", "a", "r+", "w+", "a+") or len(self._files) >= MAX_OPEN:
            raise OSError(errno.EINVAL if len(self._files) < MAX_OPEN else errno.EMFILE, mode)
        full = self.path(board_path)
        if full.is_dir():
            raise OSError(errno.EISDIR, board_path)
        handle = open(full, kind + "b")  # noqa: SIM115 (kept open for the board)
        number, self._next = self._next, self._next + 1
        self._files[number] = handle
        return number

    def file(self, number: str) -> BinaryIO:
        try:
            return self._files[int(number)]
        except (KeyError, ValueError):
            raise OSError(errno.EBADF, number) from None

    def close(self, number: str) -> None:
        self._files.pop(int(number), self.file(number)).close()

    def close_all(self) -> None:
        """Close every file the board left open (written bytes reach the disk)."""
        files, self._files = self._files, {}
        for handle in files.values():
            handle.close()

    def remove(self, board_path: str) -> None:
        full = self.path(board_path)
        if full.is_dir():
            raise OSError(errno.EISDIR, board_path)
        full.unlink()

    def mkdir(self, board_path: str) -> None:
        self.path(board_path).mkdir()

    def rmdir(self, board_path: str) -> None:
        self.path(board_path).rmdir()

    def rename(self, old: str, new: str) -> None:
        os.replace(self.path(old), self.path(new))
