"""Failures of this computer's filesystem (a name too long, no permission, a full disk) as
one line that names the path, for every surface that takes a host path from the user."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from ..board.channel import FileError
from ..errors import MpkError, UsageError

_WRONG_NAME = {errno.ENAMETOOLONG, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP}


def shown(path: object) -> str:
    """The path as the user typed it, shortened in the middle if it is very long."""
    text = str(path)
    return text if len(text) <= 80 else f"{text[:50]}...{text[-20:]} ({len(text.encode())} bytes)"


def host_path_error(exc: OSError) -> MpkError:
    """A one-line error for `exc`: a UsageError if the name is wrong, else a FileError."""
    path = shown(exc.filename)
    if exc.errno == errno.ENAMETOOLONG:
        return UsageError(
            f"{path}: name too long for this computer (at most 255 bytes a name): "
            "use a shorter one."
        )
    reason = exc.strerror or str(exc)
    if exc.errno in _WRONG_NAME:
        return UsageError(f"{path}: {reason} (on this computer).")
    return FileError(f"{path}: {reason} (on this computer).")


@contextmanager
def host_paths() -> Iterator[None]:
    """Raise a host OSError that names a file as host_path_error's one line."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            raise
        raise host_path_error(exc) from None
