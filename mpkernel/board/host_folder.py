"""A folder on this computer as a mounted board filesystem sees it (see mount.py).

Board paths are resolved inside the folder: `..` never climbs above it, and a path whose
real location (links followed) is outside it is refused with EACCES, as is a name with a
control character. Only regular files are opened, and none with more than one hard link
(its other name may be outside the folder): EACCES. Everything else fails as the host's
OS says, by errno.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

S_IFDIR, S_IFREG = 0x4000, 0x8000  # the file types a MicroPython VFS reports
MAX_OPEN = 10_000  # open files remembered for the board (the oldest are forgotten)


@dataclass
class _OpenFile:
    path: Path
    append: bool
    position: int = 0


class HostFolder:
    """Serves one folder: paths checked, files opened for the board kept by number."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self._files: dict[int, _OpenFile] = {}
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
        """Open a file for the board (modes r, w, a, with or without b and +); its number.

        Nothing stays open on this computer between requests (a board program that never
        closes its files leaks nothing here): each read or write opens the file, at the
        position the board's file has reached, and closes it again.
        """
        kind = mode.replace("b", "").replace("t", "")
        if kind not in ("r", "w", "a", "r+", "w+", "a+"):
            raise OSError(errno.EINVAL, mode)
        full = self.path(board_path)
        if full.is_dir():
            raise OSError(errno.EISDIR, board_path)
        flags = {"r": os.O_RDONLY, "w": os.O_WRONLY | os.O_CREAT, "a": os.O_WRONLY | os.O_CREAT}
        with _open_regular(full, flags[kind[0]]):  # exists and may be read (r) or written
            pass
        if kind[0] == "w":
            os.truncate(full, 0)
        number, self._next = self._next, self._next + 1
        self._files[number] = _OpenFile(full, kind[0] == "a")
        if len(self._files) > MAX_OPEN:  # the oldest that a program forgot to close
            del self._files[next(iter(self._files))]
        return number

    def _open_file(self, number: str) -> _OpenFile:
        try:
            return self._files[int(number)]
        except (KeyError, ValueError):
            raise OSError(errno.EBADF, number) from None

    def read(self, number: str, size: int) -> bytes:
        """The next `size` bytes (fewer at the end) of an open file."""
        found = self._open_file(number)
        with _open_regular(found.path, os.O_RDONLY) as handle:
            handle.seek(found.position)
            data = handle.read(size)
        found.position += len(data)
        return data

    def write(self, number: str, data: bytes) -> None:
        found = self._open_file(number)
        flags = os.O_WRONLY | os.O_APPEND if found.append else os.O_RDWR
        with _open_regular(found.path, flags) as handle:
            if not found.append:
                handle.seek(found.position)
            handle.write(data)
        found.position += len(data)

    def close(self, number: str) -> None:
        self._open_file(number)
        del self._files[int(number)]

    def close_all(self) -> None:
        """Forget every file the board had open."""
        self._files.clear()

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


def _open_regular(path: Path, flags: int) -> BinaryIO:
    """The file at path, opened with os.open flags, if it is a regular file with one link.

    Non-blocking, so that a FIFO never blocks this computer's open(); a hard link's other
    name may be anywhere on this computer, so such a file is refused (EACCES).
    """
    fd = os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EACCES, "not a regular file")
        if st.st_nlink > 1:
            raise OSError(errno.EACCES, "a file with more than one hard link")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    # The file object owns fd from here: closing it here as well (a stop pressed as it
    # returns) would close whatever was opened next under the same number.
    if flags & os.O_APPEND:
        return os.fdopen(fd, "ab")
    access = flags & 3
    if access == os.O_RDWR:
        return os.fdopen(fd, "r+b")
    if access == os.O_WRONLY:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "rb")
