"""What the board panel can ask for, as plain functions over the kernel's board.

A thin layer over the services (connection, files) that the magics use too: each function
takes the kernel and JSON-ready arguments and returns a JSON-ready result, or raises one of
`ERRORS` with one line for the user. The panel never connects by itself: with no board, file
requests say so. The caller (the comm channel) holds the kernel's board lock around each call.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import OperationError as _OperationError
from ..services import files, provenance
from ..services.connection import Board, is_webrepl_url, list_serial_ports
from . import wire

if TYPE_CHECKING:
    from ..services.connection import Connection
    from ..services.context import Context

Progress = Callable[[int, int], None]
#: Largest file the panel reads into an editor or hex view (bigger ones: download).
MAX_READ = 1_000_000
#: Longest board path a request may name (boards' filesystems allow far less).
MAX_PATH = 1024
#: Baud rates a serial link may be opened at.
BAUDS = range(300, 10_000_001)


class OperationError(_OperationError):
    """A panel request cannot be done; the message says what to do instead."""


def _board(kernel: Context) -> Board:
    """The connected board (the panel never connects on first use, unlike a cell)."""
    if kernel.board is None:
        raise OperationError("Not connected to a board: connect in the panel or run %connect.")
    return kernel.board


def _conn(kernel: Context) -> Connection:
    """The kernel's Connection, once a board is connected."""
    _board(kernel)
    return kernel.connection


def shown(text: str, most: int = 200) -> str:
    """Text from a request as an error shows it: at most `most` characters."""
    return text if len(text) <= most else f"{text[:most]}... ({len(text):,} characters)"


def _path(args: Mapping[str, object], key: str = "path") -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip("/ "):
        raise OperationError(f"A board path is needed ({key}).")
    if len(value) > MAX_PATH:
        raise OperationError(f"{shown(value, 60)}: a board path is at most {MAX_PATH} characters.")
    if value.rstrip("/").rsplit("/", 1)[-1] in (".", ".."):
        raise OperationError(f"{shown(value, 60)}: name a file or folder, not '.' or '..'.")
    return value


# -- connection ------------------------------------------------------------------------------


def state(kernel: Context) -> wire.State:
    """The cheap part of the status (no board round trip): connected, port, link kind."""
    st = kernel.connection.status()
    if not st.connected:
        return {"connected": False}
    return {"connected": True, "port": st.name, "kind": st.kind, "virtual": st.kind == "virtual"}


def _record(conn: Connection) -> dict[str, Any]:
    """The provenance record of this connection, asked once and kept in its record."""
    current = conn.current
    assert current is not None
    if current.provenance is None:
        current.provenance = provenance.record(current.board)
    return current.provenance


def status(kernel: Context, args: wire.NoArgs) -> wire.State:
    """Connection state with firmware, machine, free heap and flash, and the provenance."""
    result = state(kernel)
    board = kernel.board
    if board is None:
        return result
    rec = _record(kernel.connection)
    ident = rec.get("board", {})
    result["firmware"] = rec.get("firmware", "MicroPython")
    result["machine"] = ident.get("machine", "")
    result["provenance"] = rec
    result["free_heap"] = board.free_heap()
    with contextlib.suppress(files.FileError):  # no statvfs here: leave the figures out
        result["free_flash"], result["total_flash"] = files.disk_usage(kernel.connection)
    return result


def ports(kernel: Context, args: wire.NoArgs) -> wire.PortsResult:
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


def connect(kernel: Context, args: wire.ConnectArgs) -> wire.State:
    """Connect to args["target"] (a port or "virtual"); the next cell records provenance."""
    target = str(args.get("target") or "").strip()
    if not target:
        raise OperationError("Choose a port (or 'virtual') to connect to.")
    if len(target) > MAX_PATH:
        raise OperationError(f"{shown(target, 60)}: not a port name.")
    if is_webrepl_url(target):
        raise OperationError(
            f"WebREPL needs its password: run %connect {target} in a cell (hidden prompt)."
        )
    baud = args.get("baud") or 115200
    if isinstance(baud, str) and baud.isdigit():
        baud = int(baud)
    if isinstance(baud, bool) or not isinstance(baud, int) or baud not in BAUDS:
        raise OperationError(
            f"baud {shown(repr(baud), 40)}: give a number of bits per second, e.g. 115200."
        )
    # The next cell says what is connected and records it.
    kernel.connection.open(target, baud, unannounced=True)
    return status(kernel, wire.NoArgs())


def disconnect(kernel: Context, args: wire.NoArgs) -> wire.State:
    kernel.connection.close()
    return state(kernel)


def reset(kernel: Context, args: wire.ResetArgs) -> wire.ResetResult:
    """Soft reset (args["hard"] false) or hard reset; returns what the board printed."""
    printed = _conn(kernel).reset(hard=bool(args.get("hard")))
    return {"printed": printed, **state(kernel)}


# -- files -----------------------------------------------------------------------------------


def list_files(kernel: Context, args: wire.LsArgs) -> wire.LsResult:
    """Every file and folder on the board (recursive), with sizes, sorted by path."""
    entries = files.list_files(_conn(kernel), str(args.get("path") or ""), recursive=True)
    return {"entries": [{"path": e.path, "dir": e.is_dir, "size": e.size} for e in entries]}


def read(kernel: Context, args: wire.ReadArgs) -> wire.ReadResult:
    """A file's content: text if it is UTF-8 (and args["binary"] is not set), else base64."""
    path = _path(args)
    conn = _conn(kernel)
    entry = files.stat(conn, path)
    if entry is not None and not entry.is_dir and entry.size > MAX_READ:
        raise OperationError(f"{path} is {entry.size:,} bytes: download it instead.")
    data = files.read_file(conn, path)
    if not args.get("binary"):
        try:
            return {"path": path, "size": len(data), "text": data.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {"path": path, "size": len(data), "base64": base64.b64encode(data).decode()}


def _parents(conn: Connection, path: str) -> None:
    parent = str(PurePosixPath(path).parent)
    if parent not in ("", ".", "/"):
        files.make_dir(conn, parent, parents=True)


def write(
    kernel: Context,
    args: wire.WriteArgs,
    data: bytes | None = None,
    progress: Progress | None = None,
) -> wire.WriteResult:
    """Write args["text"] (or the bytes sent with the request) to a board file: verified and
    atomic; refused before anything is written when it does not fit in the free space."""
    path = _path(args)
    if data is None:
        text = args.get("text")
        if not isinstance(text, str):
            raise OperationError(f"{path}: nothing to write (no text and no bytes sent).")
        data = text.encode("utf-8")
    conn = _conn(kernel)
    try:
        free, _ = files.disk_usage(conn)
    except files.FileError:
        free = None  # no statvfs: the board says "storage full" itself if it is
    # The new copy is written beside the old one and renamed once verified: it needs room.
    if free is not None and len(data) > free:
        raise OperationError(
            f"{path}: {len(data):,} bytes do not fit in the board's {free:,} free bytes; "
            "nothing was written."
        )
    if args.get("parents"):
        _parents(conn, path)
    t = files.write_file(conn, path, data, progress=progress)
    return {"path": path, "size": t.size, "seconds": t.seconds, "verified": t.verified}


def download(
    kernel: Context, args: wire.DownloadArgs, progress: Progress | None = None
) -> wire.DownloadResult:
    """Copy a board file into the kernel's working folder (the notebook's folder)."""
    path = _path(args)
    name = str(args.get("dest") or PurePosixPath(path).name)
    if len(name) > MAX_PATH:
        raise OperationError(f"{shown(name, 60)}: give a shorter name.")
    work = Path(os.getcwd()).resolve()
    local = work / name
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise OperationError(f"{shown(name)}: give a name inside the working folder.")
    real = Path(os.path.realpath(local))  # links followed: a linked folder, a planted link
    if work not in real.parents:
        raise OperationError(
            f"{shown(name)}: a link there leads outside the working folder; give another name."
        )
    t = files.get_file(_conn(kernel), path, local, progress)
    return {"path": path, "local": name, "size": t.size}


def mkdir(kernel: Context, args: wire.PathArgs) -> wire.PathResult:
    path = _path(args)
    files.make_dir(_conn(kernel), path, parents=True)
    return {"path": path}


def rename(kernel: Context, args: wire.RenameArgs) -> wire.RenameResult:
    src, dst = _path(args, "path"), _path(args, "to")
    conn = _conn(kernel)
    if files.stat(conn, dst) is not None:
        raise OperationError(f"{dst}: it already exists on the board; nothing was renamed.")
    files.move(conn, src, dst)
    return {"path": src, "to": dst}


def delete(kernel: Context, args: wire.PathArgs) -> wire.DeleteResult:
    """Delete a file, or a folder with everything in it."""
    path = _path(args)
    conn = _conn(kernel)
    entry = files.stat(conn, path)
    if entry is None:
        raise OperationError(f"{path}: no such file or folder on the board.")
    removed = 1
    if entry.is_dir:
        inside = files.list_files(conn, path, recursive=True)
        for e in sorted(inside, key=lambda e: e.path.count("/"), reverse=True):
            (files.remove_dir if e.is_dir else files.remove)(conn, e.path)
        files.remove_dir(conn, path)
        removed += len(inside)
    else:
        files.remove(conn, path)
    return {"path": path, "removed": removed}
