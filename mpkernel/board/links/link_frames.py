"""The browser link's frames (BROWSER_LINK.md): a type byte and a payload.

The page and the kernel exchange the same frames: one WebSocket binary message each between
the page and the Jupyter server, a 4-byte big-endian length and the frame on the kernel's
Unix socket. The server relays them unchanged. Pure: no I/O here.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

# kernel -> page
WRITE = b"W"  # bytes to write to the port
PASTE = b"P"  # u16 window (LE) + code: a raw-paste done next to the board; answered `p`
#: u16 window + u16 credit (LE) + code: as `P`, where the board has already granted `credit`
#: bytes (its window, and a window per grant the kernel read behind it); answered `p`. Sent
#: to a page whose hello lists FEATURE_GRANTED.
PASTE_GRANTED = b"Q"
PACED = b"L"  # u16 slice + u16 pause_ms (LE) + bytes: written in paced slices; answered `l`
SIGNALS = b"S"  # u8 flags (DTR, RTS, break); answered `s`
BAUD = b"B"  # u32 baud (LE): reopen the port; answered `b` + u8 ok (+ a line)
WINDOWED = b"F"  # u8 window + ack byte + (u16 length (LE) + bytes)*: frames paced by acks
INTERRUPT = b"I"  # Ctrl-C ahead of any queued writes
RELEASE = b"X"  # the kernel lets go of the link (the page keeps the port open)
# page -> kernel
HELLO = b"H"  # JSON {usbVendorId, usbProductId, baud, version}
DATA = b"D"  # bytes read from the port
PASTED, PACED_DONE, SIGNALS_SET, BAUD_SET = b"p", b"l", b"s", b"b"
WINDOWED_DONE = b"f"  # + u32 (LE) frames written
# either way (the server sends it for a side whose connection closed)
END = b"E"  # one line for the user: the link ended
# server -> page, once as the WebSocket opens: the link is this page's (a refused page gets
# `E` and a close instead), so a page knows at once, without waiting to see nothing come
ATTACHED = b"A"

FROM_PAGE = frozenset((HELLO, DATA, PASTED, PACED_DONE, SIGNALS_SET, BAUD_SET, WINDOWED_DONE, END))
FROM_KERNEL = frozenset(
    (WRITE, PASTE, PASTE_GRANTED, PACED, SIGNALS, BAUD, WINDOWED, INTERRUPT, RELEASE, END)
)
#: The acknowledgement that answers each request frame.
ACK_OF = {
    PASTE: PASTED,
    PASTE_GRANTED: PASTED,
    PACED: PACED_DONE,
    SIGNALS: SIGNALS_SET,
    BAUD: BAUD_SET,
    WINDOWED: WINDOWED_DONE,
}
#: What a page that keeps a transfer's window (`F`) says in its hello's "features".
FEATURE_WINDOWED = "windowed"
#: What a page that takes a raw-paste's credit (`Q`) says in its hello's "features".
FEATURE_GRANTED = "granted"

DTR, RTS, BREAK = 1, 2, 4  # SIGNALS flag bits (asserted when set)
#: The largest frame either side accepts on the Unix socket.
FRAME_MAX = 16 * 1024 * 1024
LENGTH = struct.Struct(">I")


def socket_path(connection_file: str | Path) -> Path:
    """The Unix socket of a kernel's link: beside its connection file, named by its id."""
    path = Path(connection_file)
    kernel_id = path.stem.removeprefix("kernel-")
    return path.with_name(f"mpkernel-link-{kernel_id}.sock")


def socket_path_for(runtime_dir: str | Path, kernel_id: str) -> Path:
    """The same path from the directory of the connection file and the kernel's id."""
    return Path(runtime_dir) / f"mpkernel-link-{kernel_id}.sock"


def framed(frame: bytes) -> bytes:
    """A frame as it travels on the Unix socket."""
    return LENGTH.pack(len(frame)) + frame


def end(line: str) -> bytes:
    return END + line.encode("utf-8", "replace")


def paste(window: int, code: bytes, credit: int | None = None) -> bytes:
    """`P`, or `Q` with the bytes the board has granted so far."""
    if credit is None:
        return PASTE + struct.pack("<H", window) + code
    return PASTE_GRANTED + struct.pack("<HH", window, min(credit, 0xFFFF)) + code


def paced(size: int, pause: float, data: bytes) -> bytes:
    return PACED + struct.pack("<HH", size, round(pause * 1000)) + data


def windowed(window: int, ack: bytes, frames: list[bytes]) -> bytes:
    parts = [WINDOWED, bytes([window]), ack[:1]]
    for frame in frames:
        parts += [struct.pack("<H", len(frame)), frame]
    return b"".join(parts)


def signals(dtr: bool, rts: bool, brk: bool = False) -> bytes:
    return SIGNALS + bytes([(DTR if dtr else 0) | (RTS if rts else 0) | (BREAK if brk else 0)])


def baud(rate: int) -> bytes:
    return BAUD + struct.pack("<I", rate)


def hello(info: dict[str, object]) -> bytes:
    return HELLO + json.dumps(info).encode()


def parse_hello(payload: bytes) -> dict[str, object]:
    """The hello's fields ({} when it is not a JSON object)."""
    try:
        info = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}
