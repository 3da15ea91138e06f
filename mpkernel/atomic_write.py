"""Writing a file on this computer so that it is never seen half written."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

#: A new file only (never one that is there, nor through a link planted in its place).
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_NEW |= getattr(os, "O_CLOEXEC", 0)


def write_atomically(path: Path, data: bytes, temp: Path | None = None) -> None:
    """Write `data` to `temp` (default: `path` + ".part", beside it), then rename it over
    `path`: a reader finds the old file or the whole new one. Raises OSError.

    The temporary file is created new (O_EXCL, O_NOFOLLOW): one left by an earlier write,
    or a link planted under its name, is removed first (the name, never what it points to).
    """
    temp = temp or path.with_name(path.name + ".part")
    try:
        fd = os.open(temp, _NEW, 0o666)
    except FileExistsError:
        os.unlink(temp)
        fd = os.open(temp, _NEW, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
