"""A Python "page" for the browser link: the page's side of BROWSER_LINK.md, without a browser.

It opens the real server extension's WebSocket (`{base}mpkernel/link/{kernel_id}`, with the
server's token), says hello, and bridges frames to a serial "port": any PTY path (a virtual
board's port, or a PTY that is silent or speaks garbage), paced at the baud rate like
bench/throttle.py, as a USB-serial chip and its UART would. Next to the board it does what
the page does: raw-paste windows (`P`), paced writes (`L`), DTR/RTS (`S`, with an auto-reset
circuit: EN released after RTS held it low presses `on_reset`), baud changes (`B`), Ctrl-C
ahead of queued writes (`I`). `delay` adds that many seconds one way between the page and
the server, in both directions (a network's latency).

The kernel under test cannot tell it from the TypeScript page: same frames, same endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
import termios
import threading
import time
import tty
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from mpkernel.board.links import link_frames as lf

WS_CLOSE_WAIT = 30.0  # seconds a WebSocket close may take on a busy machine
TICK = 0.002  # seconds between the pacer's releases
BAUDS = {
    int(name[1:]): getattr(termios, name)
    for name in dir(termios)
    if name.startswith("B") and name[1:].isdigit()
}


class PageRefused(Exception):
    """The server refused the page (HTTP status, or an `E` line and a close)."""


class Wire:
    """One direction of a UART: bytes leave no faster than baud / 10 per second."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.pending = bytearray()
        self.free_at = time.monotonic()

    def tick(self) -> None:
        """An idle wire's clock catches up with now (before bytes are added)."""
        if not self.pending:
            self.free_at = max(self.free_at, time.monotonic())

    def due(self) -> bytes:
        now = time.monotonic()
        if not self.pending:
            self.free_at = max(self.free_at, now)
            return b""
        if now < self.free_at:
            return b""
        # A byte is handed on as its transmission starts (at most one byte time early), so
        # a lone byte (a raw-paste grant) does not wait for the next tick.
        n = min(int((now - self.free_at) * self.rate) + 1, len(self.pending))
        self.free_at += n / self.rate
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out


class BrowserPage:
    """The page: WebSocket to the Jupyter server on one side, a paced serial port on the other.

    Runs its own event loop in a thread; the methods below are called from the test's thread.
    """

    def __init__(
        self,
        base_url: str,
        kernel_id: str,
        port: str,
        token: str | None,
        *,
        baud: int = 115200,
        delay: float = 0.0,
        on_reset: Callable[[], None] | None = None,
        usb: tuple[int, int] = (0x1A86, 0x7523),
        origin: str | None = None,
        cookie: str | None = None,
        features: tuple[str, ...] = (lf.FEATURE_WINDOWED,),
    ) -> None:
        self.url = base_url.replace("http", "ws", 1).rstrip("/") + f"/mpkernel/link/{kernel_id}"
        self.token = token
        self.port_path = port
        self.baud = baud
        self.delay = delay
        self.on_reset = on_reset or (lambda: None)
        self.usb = usb
        self.origin = origin
        self.cookie = cookie
        self.features = list(features)
        self.fd = -1
        self._unwritten = bytearray()  # bytes the wire carried that the port did not take yet
        self.from_kernel: list[bytes] = []  # every frame the kernel sent, in order
        self.ended: list[str] = []  # `E` lines from the server
        self.resets = 0
        self.signals = (False, False)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._ws: ClientConnection | None = None
        self._closed = threading.Event()
        self._frozen = False
        self._tasks: list[asyncio.Task[Any]] = []

    # -- from the test's thread ------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> BrowserPage:
        """Open the port and the WebSocket, say hello; PageRefused if the server says no."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._open(), self._loop)
        try:
            future.result(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def send(self, frame: bytes) -> None:
        """Send a frame of the test's own (out of order, unknown...), after the delay."""
        self._call(self._send_frame(frame))

    def unplug(self, line: str = "The board was unplugged.") -> None:
        """The board's `disconnect` event: tell the kernel, close the port and the socket."""
        self._call(self._unplug(line), timeout=WS_CLOSE_WAIT)

    def freeze(self) -> None:
        """The tab stops answering (a frozen page): frames from the kernel are ignored."""
        self._frozen = True

    def close(self) -> None:
        """The tab closes: the WebSocket closes without a word."""
        self._call(self._close_ws(), timeout=WS_CLOSE_WAIT)

    def wait_closed(self, timeout: float = 10.0) -> bool:
        return self._closed.wait(timeout)

    def stop(self) -> None:
        """Close everything and end the page's thread."""
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self._call(self._shutdown(), timeout=5.0)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> BrowserPage:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- opening ---------------------------------------------------------------------------

    async def _open(self) -> None:
        self._open_port(self.baud)
        headers = {"Authorization": f"token {self.token}"} if self.token else {}
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            self._ws = await connect(
                self.url,
                additional_headers=headers,
                origin=self.origin,  # type: ignore[arg-type]
                compression=None,
                max_size=None,
                proxy=None,
                open_timeout=10,
                close_timeout=2,
            )
        except InvalidStatus as exc:
            raise PageRefused(f"HTTP {exc.response.status_code}") from None
        self._out: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._in: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._frames: asyncio.Queue[bytes] = asyncio.Queue()
        self._to_board = Wire(self.baud / 10)
        self._from_board = Wire(self.baud / 10)
        self._drained = asyncio.Event()
        self._drained.set()
        self._board_bytes: asyncio.Queue[bytes] | None = None  # a paste consumes them
        self._watch: asyncio.Queue[bytes] | None = None  # a windowed transfer sees them too
        self._loop.add_reader(self.fd, self._port_readable)
        for job in (self._receive, self._deliver_in, self._deliver_out, self._run_frames,
                    self._pace_to_board, self._pace_from_board):  # fmt: skip
            self._tasks.append(asyncio.create_task(job()))
        info = {"usbVendorId": self.usb[0], "usbProductId": self.usb[1], "baud": self.baud,
                "version": "browser_page.py", "features": self.features}  # fmt: skip
        await self._send_frame(lf.HELLO + json.dumps(info).encode())
        # A refused page gets `E` and a close at once: wait a moment to say so.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wait_closed_async(), 0.3 + 2 * self.delay)
        if self.ended and self._closed.is_set():
            raise PageRefused(self.ended[0])

    async def _wait_closed_async(self) -> None:
        while not self._closed.is_set():
            await asyncio.sleep(0.02)

    def _open_port(self, baud: int) -> None:
        self.fd = os.open(self.port_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self._set_speed(baud)

    def _set_speed(self, baud: int) -> None:
        speed = BAUDS.get(baud)
        if speed is None:
            raise ValueError(f"Failed to open serial port: {baud} baud is not supported")
        attrs = termios.tcgetattr(self.fd)
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    # -- the WebSocket, with the network's delay ---------------------------------------------

    async def _send_frame(self, frame: bytes) -> None:
        await self._out.put((time.monotonic() + self.delay, frame))

    async def _deliver_out(self) -> None:
        while True:
            at, frame = await self._out.get()
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            if self._ws is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self._ws.send(frame)

    async def _receive(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                if isinstance(message, bytes):
                    await self._in.put((time.monotonic() + self.delay, message))
        except ConnectionClosed:
            pass
        await self._in.put((time.monotonic() + self.delay, b""))

    async def _deliver_in(self) -> None:
        while True:
            at, frame = await self._in.get()
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            if not frame:
                self._closed.set()
                return
            self.from_kernel.append(frame)
            if self._frozen:
                continue
            if frame[:1] == lf.END:
                self.ended.append(frame[1:].decode("utf-8", "replace"))
            elif frame[:1] == lf.INTERRUPT:  # ahead of everything queued
                self._to_board.pending[:0] = b"\x03"
                self._drained.clear()
            else:
                await self._frames.put(frame)

    # -- frames, in order --------------------------------------------------------------------

    async def _run_frames(self) -> None:
        while True:
            frame = await self._frames.get()
            kind, body = frame[:1], frame[1:]
            if kind == lf.WRITE:
                self._write(body)
            elif kind == lf.PASTE:
                await self._paste(struct.unpack("<H", body[:2])[0], body[2:])
                await self._send_frame(lf.PASTED)
            elif kind == lf.PACED:
                size, pause_ms = struct.unpack("<HH", body[:4])
                for i in range(0, len(body) - 4, max(size, 1)):
                    self._write(body[4 + i : 4 + i + size])
                    await self._drained.wait()
                    await asyncio.sleep(pause_ms / 1000)
                await self._send_frame(lf.PACED_DONE)
            elif kind == lf.WINDOWED:
                written = await self._windowed(body[0], body[1:2], body[2:])
                await self._send_frame(lf.WINDOWED_DONE + struct.pack("<I", written))
            elif kind == lf.SIGNALS:
                await self._drained.wait()
                self._set_signals(bool(body[0] & lf.DTR), bool(body[0] & lf.RTS))
                await self._send_frame(lf.SIGNALS_SET)
            elif kind == lf.BAUD:
                await self._drained.wait()
                await self._send_frame(lf.BAUD_SET + self._reopen(struct.unpack("<I", body)[0]))

    def _write(self, data: bytes) -> None:
        if data:
            self._to_board.tick()
            self._to_board.pending += data
            self._drained.clear()
            self._flush_to_board()

    def _set_signals(self, dtr: bool, rts: bool) -> None:
        """The auto-reset circuit: EN is low while RTS is asserted and DTR is not; the chip
        starts when EN is released."""
        held = self.signals[1] and not self.signals[0]
        self.signals = (dtr, rts)
        if held and not (rts and not dtr):
            self.resets += 1
            self.on_reset()

    def _reopen(self, baud: int) -> bytes:
        """Web Serial changes the baud rate by closing and opening the port."""
        old = self.baud
        try:
            self._set_speed(baud)
        except (ValueError, termios.error) as exc:
            self._set_speed(old)
            return b"\x00" + str(exc).encode()
        self.baud = baud
        self._to_board.rate = self._from_board.rate = baud / 10
        return b"\x01"

    async def _windowed(self, window: int, ack: bytes, body: bytes) -> int:
        """Write a transfer's frames keeping at most `window` unacknowledged (each `ack` byte
        from the board, forwarded as usual, acknowledges one); stop at any other byte."""
        frames, pos = [], 0
        while pos + 2 <= len(body):
            size = struct.unpack("<H", body[pos : pos + 2])[0]
            frames.append(body[pos + 2 : pos + 2 + size])
            pos += 2 + size
        seen: asyncio.Queue[bytes] = asyncio.Queue()
        self._watch = seen
        unacked = written = 0
        try:
            for frame in frames:
                while unacked >= window or not seen.empty():
                    if await asyncio.wait_for(seen.get(), 10) != ack:
                        return written
                    unacked -= 1
                self._write(frame)
                written += 1
                unacked += 1
        except asyncio.TimeoutError:
            pass  # the board went quiet: the kernel's own deadline says so
        finally:
            self._watch = None
        return written

    async def _paste(self, window: int, code: bytes) -> None:
        """Raw-paste next to the board: write as the board grants windows (its `\\x01`s are
        taken here), Ctrl-D at the end, forward the board's closing `\\x04`."""
        grants: asyncio.Queue[bytes] = asyncio.Queue()
        self._board_bytes = grants
        try:
            remain, pos = window, 0
            while pos < len(code):
                while remain == 0 or not grants.empty():
                    byte = await asyncio.wait_for(grants.get(), 10)
                    if byte == b"\x01":
                        remain += window
                    elif byte == b"\x04":  # the board ended the paste: end it, tell the kernel
                        self._write(b"\x04")
                        await self._send_frame(lf.DATA + b"\x04")
                        return
                    else:
                        await self._send_frame(lf.DATA + byte)
                chunk = code[pos : pos + remain]
                self._write(chunk)
                pos += len(chunk)
                remain -= len(chunk)
            self._write(b"\x04")
            while (byte := await asyncio.wait_for(grants.get(), 10)) != b"\x04":
                if byte != b"\x01":
                    await self._send_frame(lf.DATA + byte)
            await self._send_frame(lf.DATA + b"\x04")
        except asyncio.TimeoutError:
            pass  # the board went quiet: the kernel's own deadline says so
        finally:
            self._board_bytes = None
            rest = bytearray()
            while not grants.empty():
                rest += grants.get_nowait()
            if rest:
                await self._send_frame(lf.DATA + bytes(rest))

    # -- the port, paced -----------------------------------------------------------------------

    def _port_readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except OSError:
            data = b""
        if data:
            self._from_board.tick()
            self._from_board.pending += data
            self._flush_from_board()

    def _flush_to_board(self) -> None:
        """Write to the port what the wire has carried by now. What the port's buffer does
        not take (a board slow to read) waits, its wire time already spent: never lost."""
        data = bytes(self._unwritten) + self._to_board.due()
        if data:
            try:
                written = os.write(self.fd, data)
            except BlockingIOError:
                written = 0
            self._unwritten = bytearray(data[written:])
        if not self._to_board.pending and not self._unwritten:
            self._drained.set()

    def _flush_from_board(self) -> None:
        """Hand on what the wire has carried from the board by now."""
        data = self._from_board.due()
        if not data:
            return
        grants = self._board_bytes
        if grants is not None:
            for i in range(len(data)):
                grants.put_nowait(data[i : i + 1])
            return
        watch = self._watch
        if watch is not None:
            for i in range(len(data)):
                watch.put_nowait(data[i : i + 1])
        self._out.put_nowait((time.monotonic() + self.delay, lf.DATA + data))

    async def _pace_to_board(self) -> None:
        while True:
            self._flush_to_board()
            await asyncio.sleep(TICK)

    async def _pace_from_board(self) -> None:
        while True:
            self._flush_from_board()
            await asyncio.sleep(TICK)

    # -- ending ------------------------------------------------------------------------------

    async def _unplug(self, line: str) -> None:
        await self._send_frame(lf.end(line))
        await asyncio.sleep(self.delay + 0.05)
        await self._close_ws()

    async def _close_ws(self) -> None:
        await asyncio.sleep(self.delay)
        if self._ws is not None:
            await self._ws.close()
        self._closed.set()

    async def _shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self.fd)
        for task in self._tasks:
            task.cancel()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2)
