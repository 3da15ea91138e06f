"""What the board panel can ask for, as plain functions over the kernel's board.

A thin layer over today's board API (the connection logic of the connection magics, Board's
resets, BoardFiles): each function takes the kernel and JSON-ready arguments and returns a
JSON-ready result, or raises OperationError with one line for the user. The caller (the comm
channel) holds the kernel's board lock around every call.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .. import provenance
from ..board.filesystem import BoardFiles, FileError
from ..board.ports import list_serial_ports
from ..board.session import Board, BoardError
from ..board.transport import TransportError
from ..board.webrepl import is_webrepl_url
from ..magics.connection import connect as connect_board
from ..magics.files import write_local
from ..magics.registry import MagicError

if TYPE_CHECKING:
    from ..kernel import MicroPythonKernel

Progress = Callable[[int, int], None]
#: Largest file the panel reads into an editor or hex view (bigger ones: download).
MAX_READ = 1_000_000


class OperationError(Exception):
    """An operation failed; the message is one line that says what happened or what to do."""


def _board(kernel: MicroPythonKernel) -> Board:
    if kernel.board is None:
        raise OperationError("Not connected to a board: connect in the panel or run %connect.")
    return kernel.board


def _files(kernel: MicroPythonKernel) -> BoardFiles:
    return BoardFiles(_board(kernel))


def _path(args: dict[str, Any], key: str = "path") -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip("/ "):
        raise OperationError(f"A board path is needed ({key}).")
    return value


# -- connection ------------------------------------------------------------------------------


def state(kernel: MicroPythonKernel) -> dict[str, Any]:
    """The cheap part of the status (no board round trip): connected, port, link kind."""
    board = kernel.board
    if board is None:
        return {"connected": False}
    return {
        "connected": True,
        "port": board.name,
        "kind": board.kind,
        "virtual": board.kind == "virtual",
    }


def _record(board: Board) -> dict[str, Any]:
    """The provenance record of this connection, asked once and kept on the board object."""
    rec = getattr(board, "_panel_provenance", None)
    if rec is None:
        rec = provenance.record(board)
        board._panel_provenance = rec  # type: ignore[attr-defined]
    return rec


def status(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    """Connection state with firmware, machine, free heap and flash, and the provenance."""
    result = state(kernel)
    board = kernel.board
    if board is None:
        return result
    rec = _record(board)
    ident = rec.get("board", {})
    result.update(
        firmware=rec.get("firmware", "MicroPython"),
        machine=ident.get("machine", ""),
        provenance=rec,
        free_heap=board.free_heap(),
    )
    with contextlib.suppress(FileError):  # no statvfs on this port: leave the figures out
        result["free_flash"], result["total_flash"] = BoardFiles(board).df()
    return result


def ports(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    """The serial ports the kernel sees, with USB ids and the boards they are known as."""
    return {
        "ports": [
            {
                "device": p.device,
                "usb_id": p.usb_id,
                "description": p.description,
                "known_as": p.known_as or "",
            }
            for p in list_serial_ports()
        ]
    }


def connect(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    """Connect to args["target"] (a port or "virtual"); the next cell records provenance."""
    target = str(args.get("target") or "").strip()
    if not target:
        raise OperationError("Choose a port (or 'virtual') to connect to.")
    if is_webrepl_url(target):
        raise OperationError(
            f"WebREPL needs its password: run %connect {target} in a cell (hidden prompt)."
        )
    baud = int(args.get("baud") or 115200)
    try:
        connect_board(kernel, target, baud, quiet=True)
    except MagicError as exc:
        raise OperationError(str(exc)) from None
    kernel._unannounced = True  # the next cell says what is connected and records it
    return status(kernel, {})


def disconnect(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    kernel.disconnect()
    return state(kernel)


def reset(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    """Soft reset (args["hard"] false) or hard reset; returns what the board printed."""
    board = _board(kernel)
    printed = board.hard_reset() if args.get("hard") else board.soft_reset()
    return {"printed": printed, **state(kernel)}


# -- files -----------------------------------------------------------------------------------


def list_files(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    """Every file and folder on the board (recursive), with sizes, sorted by path."""
    entries = _files(kernel).ls(str(args.get("path") or ""), recursive=True)
    return {"entries": [{"path": e.path, "dir": e.is_dir, "size": e.size} for e in entries]}


def read(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    """A file's content: text if it is UTF-8 (and args["binary"] is not set), else base64."""
    path = _path(args)
    fs = _files(kernel)
    entry = fs.stat(path)
    if entry is not None and not entry.is_dir and entry.size > MAX_READ:
        raise OperationError(f"{path} is {entry.size:,} bytes: download it instead.")
    data, _ = fs.get(path)
    if not args.get("binary"):
        try:
            return {"path": path, "size": len(data), "text": data.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"path": path, "size": len(data), "base64": base64.b64encode(data).decode()}


def _parents(fs: BoardFiles, path: str) -> None:
    parent = str(PurePosixPath(path).parent)
    if parent not in ("", ".", "/"):
        fs.mkdir(parent, parents=True)


def write(
    kernel: MicroPythonKernel,
    args: dict[str, Any],
    data: bytes | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write args["text"] (or the bytes sent with the request) to a board file: verified and
    atomic; refused before anything is written when it does not fit in the free space."""
    path = _path(args)
    if data is None:
        text = args.get("text")
        if not isinstance(text, str):
            raise OperationError(f"{path}: nothing to write (no text and no bytes sent).")
        data = text.encode("utf-8")
    fs = _files(kernel)
    try:
        free, _ = fs.df()
    except FileError:
        free = None  # no statvfs: the board says "storage full" itself if it is
    # The new copy is written beside the old one and renamed once verified: it needs room.
    if free is not None and len(data) > free:
        raise OperationError(
            f"{path}: {len(data):,} bytes do not fit in the board's {free:,} free bytes; "
            "nothing was written."
        )
    if args.get("parents"):
        _parents(fs, path)
    t = fs.put(data, path, progress)
    return {"path": path, "size": t.size, "seconds": t.seconds, "verified": t.verified}


def download(
    kernel: MicroPythonKernel, args: dict[str, Any], progress: Progress | None = None
) -> dict[str, Any]:
    """Copy a board file into the kernel's working folder (the notebook's folder)."""
    path = _path(args)
    name = str(args.get("dest") or PurePosixPath(path).name)
    local = Path(os.getcwd()) / name
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise OperationError(f"{name}: give a name inside the working folder.")
    data, _ = _files(kernel).get(path, progress)
    write_local(local, data)
    return {"path": path, "local": name, "size": len(data)}


def mkdir(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    path = _path(args)
    _files(kernel).mkdir(path, parents=True)
    return {"path": path}


def rename(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    src, dst = _path(args, "path"), _path(args, "to")
    fs = _files(kernel)
    if fs.stat(dst) is not None:
        raise OperationError(f"{dst}: it already exists on the board; nothing was renamed.")
    fs.mv(src, dst)
    return {"path": src, "to": dst}


def delete(kernel: MicroPythonKernel, args: dict[str, Any]) -> dict[str, Any]:
    """Delete a file, or a folder with everything in it."""
    path = _path(args)
    fs = _files(kernel)
    entry = fs.stat(path)
    if entry is None:
        raise OperationError(f"{path}: no such file or folder on the board.")
    removed = 1
    if entry.is_dir:
        inside = fs.ls(path, recursive=True)
        for e in sorted(inside, key=lambda e: e.path.count("/"), reverse=True):
            (fs.rmdir if e.is_dir else fs.rm)(e.path)
        fs.rmdir(path)
        removed += len(inside)
    else:
        fs.rm(path)
    return {"path": path, "removed": removed}


#: The errors an operation may end with, each shown as its one line.
ERRORS: tuple[type[BaseException], ...] = (OperationError, FileError, MagicError, *BoardError)
LINK_LOST = TransportError
