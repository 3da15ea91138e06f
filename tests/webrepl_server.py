"""A WebREPL server for tests: the firmware's side of the protocol, in front of a virtual board.

It follows MicroPython's WebREPL (extmod/modwebrepl.c, ESP8266 firmware) byte for byte:
`Password: ` prompt, `\\r\\nWebREPL connected\\r\\n>>> ` or `\\r\\nAccess denied\\r\\n` and close,
one client at a time (a second connection is closed as soon as it is accepted), text frames
bridged to the REPL (a PTY with a unix-port MicroPython behind it), binary frames for the
file protocol (files written into the board's root folder directly, GET in 256-byte chunks,
a failed open ends the session), no answer to pings, and the socket dropped at a soft reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import threading
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Opcode

from mpkernel.board.virtual import VirtualBoard

HEADER = struct.Struct("<2sBBQLH64s")  # b"WA", op, flags, offset, size, name length, name
PUT, GET, VERSION = 1, 2, 3
GET_CHUNK = 256  # the firmware reads files in 256-byte chunks
TEXT_MAX = 255  # text frames beyond this are truncated (the firmware's stdin buffer)
CONNECTED = b"\r\nWebREPL connected\r\n>>> "
DENIED = b"\r\nAccess denied\r\n"
VERSION_BYTES = bytes((1, 22, 0))


def wb(status: int = 0) -> bytes:
    return struct.pack("<2sH", b"WB", status)


class WebReplServer:
    """Serve one virtual board over WebREPL on 127.0.0.1:`port` (0: a free port)."""

    def __init__(
        self,
        root: str | Path,
        password: str = "pass123",
        port: int = 0,
        drop_on_reset: bool = True,
        truncate: bool = True,
    ) -> None:
        self.password = password
        self.drop_on_reset = drop_on_reset
        self.truncate = truncate
        self.board = VirtualBoard(root=root)
        self.root = Path(self.board.root)
        self.fd = os.open(self.board.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.client: ServerConnection | None = None
        self.logged_in = False
        self.outq: asyncio.Queue[bytes | None] | None = None
        self.tail = b""
        self.connections = 0
        self.rejected = 0
        self.errors: list[BaseException] = []
        self.received: list[tuple[str, bytes]] = []  # (kind, payload) of every data frame
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped = False
        self.port = port
        self._thread = threading.Thread(target=self._run, name="webrepl-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the WebREPL test server did not start")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # -- lifecycle ---------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self.server = await serve(
            self._handler,
            "127.0.0.1",
            self.port,
            ping_interval=None,  # the firmware never pings, nor answers pings (see below)
            process_request=self._accept,
            max_size=None,
            compression=None,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.loop.add_reader(self.fd, self._on_pty)

    def stop(self) -> None:
        """Kill the server (clients see the link drop) and its board."""
        if self._stopped:
            return
        self._stopped = True

        async def shutdown() -> None:
            with contextlib.suppress(Exception):
                self.loop.remove_reader(self.fd)
            if self.client is not None:
                self.client.transport.abort()
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.board.stop()

    # -- the REPL side -------------------------------------------------------------------

    def _on_pty(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            return
        if self.client is None or not self.logged_in or self.outq is None:
            return  # output goes to the UART only
        self.outq.put_nowait(data)
        seen = self.tail + data
        self.tail = seen[-32:]
        if self.drop_on_reset and b"soft reboot" in seen:
            # A soft reset ends WebREPL's socket; boot.py starts WebREPL again.
            self.tail = b""
            self.logged_in = False
            self.outq.put_nowait(None)

    def _to_repl(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                n = 0
                import time

                time.sleep(0.001)
            view = view[n:]

    # -- the WebSocket side ----------------------------------------------------------------

    def _accept(self, connection: ServerConnection, request: object) -> None:
        """One client at a time: the firmware closes any other connection right away."""
        if self.client is not None:
            self.rejected += 1
            connection.transport.abort()
        return None

    async def _sender(self, ws: ServerConnection, queue: asyncio.Queue[bytes | None]) -> None:
        while True:
            data = await queue.get()
            if data is None:
                await ws.close()
                return
            await ws.send(data, text=True)

    async def _handler(self, ws: ServerConnection) -> None:
        if self.client is not None:
            ws.transport.abort()
            return
        self.client = ws
        self.connections += 1
        kinds: list[bool] = []  # is_text of each data message, in order
        put = ws.recv_messages.put

        def tracked(frame):  # type: ignore[no-untyped-def]
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                kinds.append(frame.opcode is Opcode.TEXT)
            put(frame)

        ws.recv_messages.put = tracked  # type: ignore[method-assign]
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        sender: asyncio.Task[None] | None = None
        try:
            await ws.send(b"Password: ", text=True)
            typed = bytearray()
            while b"\r" not in typed and b"\n" not in typed:
                msg = await ws.recv(decode=False)
                is_text = kinds.pop(0)
                if is_text:
                    typed += msg
            given = bytes(typed).replace(b"\n", b"\r").split(b"\r", 1)[0]
            if given != self.password.encode():
                await ws.send(DENIED, text=True)
                await ws.close()
                return
            await ws.send(CONNECTED, text=True)
            self.outq = queue
            self.logged_in = True
            sender = asyncio.create_task(self._sender(ws, queue))
            await self._serve(ws, kinds)
        except Exception as exc:
            self.errors.append(exc)
        finally:
            if sender is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(sender, 2)
                sender.cancel()
            self.logged_in = False
            self.outq = None
            self.client = None

    async def _serve(self, ws: ServerConnection, kinds: list[bool]) -> None:
        header = bytearray()
        put_file = None
        put_left = 0
        get_file = None
        while True:
            msg = await ws.recv(decode=False)
            is_text = kinds.pop(0)
            self.received.append(("text" if is_text else "binary", msg))
            if is_text:
                if self.truncate:
                    msg = msg[:TEXT_MAX]
                self._to_repl(msg)
                continue
            data = memoryview(msg)
            while data:
                if put_file is not None:
                    n = min(put_left, len(data))
                    put_file.write(data[:n])
                    put_left -= n
                    data = data[n:]
                    if put_left == 0:
                        put_file.close()
                        put_file = None
                        await ws.send(wb(0))
                    continue
                if get_file is not None:
                    data = data[1:]  # one request byte: one chunk
                    chunk = get_file.read(GET_CHUNK)
                    await ws.send(struct.pack("<H", len(chunk)) + chunk)
                    if not chunk:
                        get_file.close()
                        get_file = None
                        await ws.send(wb(0))
                    continue
                need = HEADER.size - len(header)
                header += data[:need]
                data = data[need:]
                if len(header) < HEADER.size:
                    continue
                magic, op, _flags, _offset, size, nlen, raw = HEADER.unpack(bytes(header))
                header.clear()
                if magic != b"WA":
                    continue
                if op == VERSION:
                    await ws.send(VERSION_BYTES)
                    continue
                name = raw[:nlen].decode("utf-8", "replace")
                path = self.root / name.lstrip("/")
                try:
                    if op == PUT:
                        put_file = open(path, "wb")  # noqa: SIM115
                        put_left = size
                    elif op == GET:
                        get_file = open(path, "rb")  # noqa: SIM115
                    else:
                        continue
                except OSError:
                    # The firmware raises in its read handler: the session ends, no error code.
                    ws.transport.abort()
                    return
                await ws.send(wb(0))
                if op == PUT and put_left == 0:
                    put_file.close()
                    put_file = None
                    await ws.send(wb(0))
