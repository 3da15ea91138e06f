"""%put/%get over WebREPL's binary file protocol (the firmware writes and reads the files).

Only the protocol lives here (a FileChannel); BoardFiles keeps the temporary name, the
verification and the rename.
Header `<2sBBQLH64s`: b"WA", op (1 put, 2 get), flags, offset, size, name length,
name (at most 63 bytes). Replies `<2sH`: b"WB", status (0 = ok). A put streams exactly `size`
bytes after the first WB; a get asks for each chunk with one b"\\x00" and receives `<H len>`
+ data until len is 0. A failed open on the board ends the whole WebREPL session, so paths
are checked through the raw REPL first. Puts go to a temporary name, are verified by SHA-256
on the board (or read back where it has no hashlib) and renamed, as over serial.
"""

from __future__ import annotations

import contextlib
import struct
from typing import TYPE_CHECKING

from .channel import TEMP_SUFFIX, FileChannel, FileError, Progress, stat
from .webrepl import WebReplTransport

if TYPE_CHECKING:
    from .session import Board

HEADER = struct.Struct("<2sBBQLH64s")
REPLY = struct.Struct("<2sH")
PUT, GET = 1, 2
NAME_MAX = 63
PUT_FRAME = 1024
TIMEOUT = 15.0


def _name(path: str) -> bytes:
    raw = path.encode("utf-8")
    if len(raw) > NAME_MAX:
        raise FileError(
            f"{path}: the path is {len(raw)} bytes, WebREPL's file transfer takes at most "
            f"{NAME_MAX}: use a shorter name or folder (nothing was sent)."
        )
    return raw


def _header(op: int, path: bytes, size: int = 0) -> bytes:
    return HEADER.pack(b"WA", op, 0, 0, size, len(path), path)


def _expect_ok(link: WebReplTransport, path: str, what: str) -> None:
    magic, status = REPLY.unpack(link.read_binary(REPLY.size, TIMEOUT))
    if magic != b"WB" or status != 0:
        raise FileError(f"{path}: the board refused to {what} it (WebREPL status {status}).")


class WebReplChannel(FileChannel):
    """WebREPL's PUT and GET: the firmware itself writes and reads the file."""

    def __init__(self, board: Board, link: WebReplTransport) -> None:
        super().__init__(board)
        self.link = link

    def temp_name(self, remote: str) -> str:
        """A temporary name next to `remote` that fits WebREPL's 63 bytes."""
        _name(remote)
        temp = remote + TEMP_SUFFIX
        if len(temp.encode()) <= NAME_MAX:
            return temp
        parent = remote.rsplit("/", 1)[0] + "/" if "/" in remote else ""
        temp = parent + TEMP_SUFFIX
        _name(temp)
        return temp

    def check_target(self, remote: str) -> None:
        """The firmware cannot report a missing folder (the session would end): check first."""
        parent = remote.rstrip("/").rsplit("/", 1)[0] if "/" in remote.strip("/") else ""
        if not parent:
            return
        entry = stat(self.board, parent)
        if entry is None or not entry.is_dir:
            raise FileError(f"{remote}: no folder {parent} on the board (create it with %mkdir).")

    def send(
        self, data: bytes, temp: str, remote: str, progress: Progress | None
    ) -> tuple[int, str]:
        """PUT `data` as `temp`; an interrupted put is filled up, removed, and re-raised."""
        link = self.link
        name = _name(temp)
        link.clear_binary()
        head = _header(PUT, name, len(data))
        link.write_binary(head)
        _expect_ok(link, temp, "write")
        wire = len(head)
        interrupted = False
        pos = 0
        while pos < len(data):
            try:
                chunk = data[pos : pos + PUT_FRAME]
                link.write_binary(chunk)
                pos += len(chunk)
                wire += len(chunk)
                if progress:
                    progress(pos, len(data))
            except KeyboardInterrupt:
                # The board expects exactly `size` bytes: fill up, then remove the file.
                interrupted = True
                while pos < len(data):
                    n = min(PUT_FRAME, len(data) - pos)
                    link.write_binary(bytes(n))
                    pos += n
        _expect_ok(link, temp, "write")
        if interrupted:
            with contextlib.suppress(FileError):  # the interruption matters more
                self.run(f"import os\nos.remove({temp!r})", remote)
            raise KeyboardInterrupt
        return wire, "webrepl"

    def receive(self, remote: str, size: int, progress: Progress | None) -> tuple[bytes, int, str]:
        """GET `remote`."""
        link = self.link
        name = _name(remote)
        link.clear_binary()
        head = _header(GET, name)
        link.write_binary(head)
        _expect_ok(link, remote, "read")
        data = bytearray()
        wire = len(head)
        interrupted = False
        while True:
            try:
                link.write_binary(b"\x00")
                (n,) = struct.unpack("<H", link.read_binary(2, TIMEOUT))
                wire += 3
                if n == 0:
                    break
                data += link.read_binary(n, TIMEOUT)
                wire += n
                if progress and not interrupted:
                    progress(len(data), size)
            except KeyboardInterrupt:
                interrupted = True  # finish the exchange so the session stays usable
        _expect_ok(link, remote, "read")
        if interrupted:
            raise KeyboardInterrupt
        return bytes(data), wire, "webrepl"
