"""The address of a Unix socket in a folder of any depth.

A socket's address holds at most 107 bytes of path (Linux), and a runtime folder in a long
home (The Littlest JupyterHub's /home/jupyter-NAME/.local/share/jupyter/runtime) makes a
longer one. Such a path is reached through a descriptor of its folder, held only while the
socket is bound or connected: /proc/self/fd/N/NAME. The socket stays in its own private
folder; nothing is placed anywhere else.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUN_PATH_MAX = 107  # bytes of a Unix socket's path (Linux; 103 on macOS and the BSDs)
FD_FOLDER = "/proc/self/fd"


def fits(path: str | Path) -> bool:
    return len(os.fsencode(path)) <= SUN_PATH_MAX


@contextmanager
def unix_address(path: str | Path) -> Iterator[str]:
    """An address to bind or connect the socket at `path` to, valid inside the `with`."""
    path = Path(path)
    if fits(path):
        yield os.fspath(path)
        return
    if not os.path.isdir(FD_FOLDER):
        raise OSError(errno.ENAMETOOLONG, f"the path {path} is too long for a Unix socket")
    folder = os.open(path.parent, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
    try:
        short = f"{FD_FOLDER}/{folder}/{path.name}"
        if not fits(short):
            raise OSError(errno.ENAMETOOLONG, f"the name {path.name} is too long for a socket")
        yield short
    finally:
        os.close(folder)
