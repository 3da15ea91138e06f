"""The board's side of WebREPL, for the virtual board: a listening socket on this computer.

It speaks what MicroPython's firmware speaks on port 8266 (extmod/modwebrepl.c; facts in
docs protocol-notes): a WebSocket, `Password: `, then `\\r\\nWebREPL connected\\r\\n>>> ` or
`\\r\\nAccess denied\\r\\n` and close; text frames are REPL input (at most 255 bytes of each
are kept, the firmware's stdin buffer) and REPL output; binary frames carry the file
protocol (`WA` headers, PUT, GET in 256-byte chunks, GET_VER; a failed open ends the
session). One client at a time: another connection is closed as soon as it is accepted.

It has no thread of its own: the owner puts `sockets()` in its select loop, calls
`handle(sock)` for the readable ones and `repl_output(data)` with what the REPL prints.
The WebSocket framing is the `websockets` package's sans-I/O protocol.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

DEFAULT_PORT = 8266
HEADER = struct.Struct("<2sBBQLH64s")  # b"WA", op, flags, offset, size, name length, name
PUT, GET, VERSION = 1, 2, 3
GET_CHUNK = 256  # the firmware reads files in 256-byte chunks
TEXT_MAX = 255  # the firmware keeps this much of one text frame (its stdin buffer)
PROMPT = b"Password: "
CONNECTED = b"\r\nWebREPL connected\r\n>>> "
DENIED = b"\r\nAccess denied\r\n"
VERSION_BYTES = bytes((1, 22, 0))
SEND_TIMEOUT = 5.0


def wb(status: int = 0) -> bytes:
    """A file-protocol reply: b"WB" and a status (0 = ok)."""
    return struct.pack("<2sH", b"WB", status)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on `port`, or on a free port when that one is taken (or 0)."""
    for candidate in (port, 0) if port else (0,):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE or candidate == 0:
                raise
            continue
        sock.listen(2)
        sock.setblocking(False)
        return sock
    raise OSError("no free port")  # not reached: port 0 always binds or raises


class _Session:
    """One WebSocket client: handshake, login, then REPL text and the file protocol."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.proto = ServerProtocol(max_size=None)
        self.logged_in = False
        self.greeted = False
        self.typed = bytearray()
        self.message = bytearray()  # a fragmented message being collected
        self.message_text = False
        self.header = bytearray()
        self.put_file: BinaryIO | None = None
        self.put_left = 0
        self.get_file: BinaryIO | None = None

    def close_files(self) -> None:
        for f in (self.put_file, self.get_file):
            if f is not None:
                f.close()
        self.put_file = self.get_file = None


class WebReplServer:
    """Serves one REPL over WebREPL on host:port (`port`: 8266 when free, else a free one)."""

    def __init__(
        self,
        root: str | Path,
        password: str,
        to_repl: Callable[[bytes], None],
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        truncate: bool = True,
        record: list[tuple[str, bytes]] | None = None,
        nagle: bool = False,
    ) -> None:
        self.root = Path(root).resolve()
        self.nagle = nagle  # as lwIP on a board (benchmarks): small writes wait for ACKs
        self._password = password.encode()
        self._to_repl = to_repl
        self.truncate = truncate
        #: When a list: (kind, payload) of every data message received (for tests).
        self.record = record
        self.listener = listen(host, port)
        self.host = host
        self.port: int = self.listener.getsockname()[1]
        self.session: _Session | None = None
        self.connections = 0
        self.rejected = 0

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def sockets(self) -> list[socket.socket]:
        """What to wait on in select() for reading."""
        out = [self.listener]
        if self.session is not None:
            out.append(self.session.sock)
        return out

    def handle(self, sock: socket.socket) -> None:
        """`sock` (one of sockets()) is readable."""
        if sock is self.listener:
            self._accept()
        elif self.session is not None and sock is self.session.sock:
            self._receive(self.session)

    def repl_output(self, data: bytes) -> None:
        """What the REPL printed: to the client, once it has logged in (as dupterm does)."""
        s = self.session
        if s is not None and s.logged_in and data:
            s.proto.send_text(data)
            self._flush(s)

    def drop_client(self) -> None:
        """End the client's connection (a reset: the firmware closes WebREPL's sockets)."""
        s = self.session
        if s is None:
            return
        self.session = None
        s.close_files()
        with contextlib.suppress(OSError):
            s.sock.close()

    def close(self) -> None:
        """Stop listening and drop the client."""
        self.drop_client()
        with contextlib.suppress(OSError):
            self.listener.close()

    # -- connections -----------------------------------------------------------------

    def _accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if self.session is not None:  # one client at a time
            self.rejected += 1
            sock.close()
            return
        self.connections += 1
        # Each REPL write leaves at once: with Nagle, what the REPL prints after `OK` would
        # wait for the client's (delayed) ACK, up to 40 ms per cell on Linux.
        if not self.nagle:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(True)
        sock.settimeout(SEND_TIMEOUT)
        self.session = _Session(sock)

    def _flush(self, s: _Session) -> None:
        for chunk in s.proto.data_to_send():
            if not chunk:  # the protocol wants the TCP connection closed
                self._end(s)
                return
            try:
                s.sock.sendall(chunk)
            except OSError:
                self._end(s)
                return

    def _end(self, s: _Session) -> None:
        if self.session is s:
            self.drop_client()

    def _receive(self, s: _Session) -> None:
        try:
            data = s.sock.recv(65536)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return
        except OSError:
            data = b""
        if not data:
            s.proto.receive_eof()
            self._end(s)
            return
        s.proto.receive_data(data)
        for event in s.proto.events_received():
            if self.session is not s:
                return
            if isinstance(event, Request):
                response = s.proto.accept(event)
                s.proto.send_response(response)
                if response.status_code == 101:
                    s.proto.send_text(PROMPT)
                    s.greeted = True
                continue
            if not isinstance(event, Frame):
                continue  # a server is sent requests and frames only
            if event.opcode in (Opcode.TEXT, Opcode.BINARY):
                s.message = bytearray(event.data)
                s.message_text = event.opcode is Opcode.TEXT
            elif event.opcode is Opcode.CONT:
                s.message += event.data
            else:
                continue  # close is answered by the protocol; ping and pong are ignored
            if event.fin:
                self._message(s, bytes(s.message), s.message_text)
                s.message = bytearray()
        if self.session is s:
            self._flush(s)
            if s.proto.close_expected():
                self._end(s)

    # -- messages ----------------------------------------------------------------------

    def _message(self, s: _Session, msg: bytes, is_text: bool) -> None:
        if self.record is not None and s.logged_in:
            self.record.append(("text" if is_text else "binary", msg))
        if not s.logged_in:
            if is_text:
                self._login(s, msg)
            return
        if is_text:
            self._to_repl(msg[:TEXT_MAX] if self.truncate else msg)
        else:
            self._file_protocol(s, memoryview(msg))

    def _login(self, s: _Session, msg: bytes) -> None:
        s.typed += msg
        if b"\r" not in s.typed and b"\n" not in s.typed:
            return
        given = bytes(s.typed).replace(b"\n", b"\r").split(b"\r", 1)[0]
        s.typed.clear()
        if given != self._password:
            s.proto.send_text(DENIED)
            s.proto.send_close()
            self._flush(s)
            self._end(s)
            return
        s.logged_in = True
        s.proto.send_text(CONNECTED)

    def _file_protocol(self, s: _Session, data: memoryview) -> None:
        while data and self.session is s:
            if s.put_file is not None:
                n = min(s.put_left, len(data))
                s.put_file.write(data[:n])
                s.put_left -= n
                data = data[n:]
                if s.put_left == 0:
                    s.put_file.close()
                    s.put_file = None
                    s.proto.send_binary(wb(0))
                continue
            if s.get_file is not None:
                data = data[1:]  # one request byte: one chunk
                chunk = s.get_file.read(GET_CHUNK)
                s.proto.send_binary(struct.pack("<H", len(chunk)) + chunk)
                if not chunk:
                    s.get_file.close()
                    s.get_file = None
                    s.proto.send_binary(wb(0))
                continue
            need = HEADER.size - len(s.header)
            s.header += data[:need]
            data = data[need:]
            if len(s.header) < HEADER.size:
                continue
            magic, op, _flags, _offset, size, nlen, raw = HEADER.unpack(bytes(s.header))
            s.header.clear()
            if magic != b"WA":
                continue
            if op == VERSION:
                s.proto.send_binary(VERSION_BYTES)
                continue
            if op not in (PUT, GET):
                continue
            if not self._open(s, op, raw[:nlen].decode("utf-8", "replace"), size):
                # The firmware raises in its read handler: the session ends, no error code.
                self._end(s)
                return

    def _open(self, s: _Session, op: int, name: str, size: int) -> bool:
        path = (self.root / name.lstrip("/")).resolve()
        if path != self.root and self.root not in path.parents:
            return False  # outside the board's filesystem
        try:
            if op == PUT:
                s.put_file = open(path, "wb")  # noqa: SIM115
                s.put_left = size
            else:
                s.get_file = open(path, "rb")  # noqa: SIM115
        except OSError:
            return False
        s.proto.send_binary(wb(0))
        if op == PUT and size == 0 and s.put_file is not None:  # nothing to wait for
            s.put_file.close()
            s.put_file = None
            s.proto.send_binary(wb(0))
        return True
