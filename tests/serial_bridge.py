"""Test-only: serial ports for the browser tests' `navigator.serial` stand-in (webserial_shim.js).

    python tests/serial_bridge.py NAME=PTY[@RESET_PID] ...

opens each PTY (a virtual board's port) once, as a USB-serial adapter stays powered, and
prints the URL of a WebSocket server on 127.0.0.1; `ws://.../NAME` is that port for one page
at a time (a second one is refused: "port busy", as an OS refuses a port already open).
Bytes cross in both directions no faster than the baud rate (115200: bench/throttle.py's
Pacer, each direction on its own); while no page has the port open, what the board prints is
lost, as on a wire nobody listens to.

Messages from the page: binary = bytes for the board; text JSON `{"baud": n}` (the rate of
the next bytes), `{"signals": {"dtr": b, "rts": b, "brk": b}}`, `{"unplug": true}` (the
cable is pulled: the board, powered by USB, starts again). To the page: binary = bytes from
the board; text JSON `{"sent": n}` when n of its bytes have reached the board, so the
page's writes wait as they wait for a UART's buffer. An RTS pulse (asserted, then released
with DTR released) is the auto-reset circuit of an ESP board: SIGUSR1 to RESET_PID (the
virtual board's reset button).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import tty
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from throttle import WIRE_RATE, Pacer

#: How long a new page waits for the previous page's close to arrive (a reload's race).
HANDOVER = 3.0
#: Seconds between pacing steps at least (a step moves the bytes that are due).
TICK = 0.002


class Port:
    """One board port and the page that has it open, if any."""

    def __init__(self, name: str, path: str, reset_pid: int | None) -> None:
        self.name, self.reset_pid = name, reset_pid
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.page: ServerConnection | None = None
        self.to_board, self.to_page = Pacer(WIRE_RATE), Pacer(WIRE_RATE)
        self.rts = self.dtr = False
        self.wake = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:  # the board's process ended
            asyncio.get_running_loop().remove_reader(self.fd)
            return
        if self.page is not None:
            self.to_page.pending += data
            self.wake.set()

    def set_rate(self, baud: int) -> None:
        for pacer in (self.to_board, self.to_page):
            pacer.rate = max(baud, 300) / 10

    def set_signals(self, signals: dict[str, bool]) -> None:
        rts, dtr = bool(signals.get("rts", self.rts)), bool(signals.get("dtr", self.dtr))
        if self.rts and not rts and not dtr and self.reset_pid:
            self.power_cycle()  # EN went high again: the chip boots
        self.rts, self.dtr = rts, dtr

    def power_cycle(self) -> None:
        """The cable was pulled: a board powered by USB starts again when plugged back."""
        if self.reset_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.reset_pid, signal.SIGUSR1)

    async def pump(self) -> None:
        """Move due bytes: to the board (acknowledged to the page), and to the page."""
        while True:
            now = time.monotonic()
            out = self.to_board.due(now, limit=4096)
            if out:
                with contextlib.suppress(BlockingIOError):
                    os.write(self.fd, out)
                await self._tell({"sent": len(out)})
            back = self.to_page.due(now, limit=4096)
            if back and self.page is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self.page.send(back)
            waits = [w for w in (self.to_board.wait(now), self.to_page.wait(now)) if w is not None]
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(min(waits), TICK) if waits else 1.0)

    async def _tell(self, message: dict[str, int]) -> None:
        if self.page is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.page.send(json.dumps(message))

    async def serve(self, ws: ServerConnection) -> None:
        deadline = time.monotonic() + HANDOVER
        while self.page is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.page is not None:
            await ws.close(4009, "port busy")
            return
        self.page = ws
        self.rts = self.dtr = False
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    self.to_board.pending += message
                    self.wake.set()
                    continue
                control = json.loads(message)
                if "baud" in control:
                    self.set_rate(int(control["baud"]))
                if "signals" in control:
                    self.set_signals(control["signals"])
                if control.get("unplug"):
                    self.power_cycle()
        except ConnectionClosed:
            pass
        finally:
            self.page = None
            self.to_board.pending.clear()  # the port closed: its buffers are gone
            self.to_page.pending.clear()


async def main(specs: list[str]) -> None:
    ports: dict[str, Port] = {}
    for spec in specs:
        name, _, rest = spec.partition("=")
        path, _, pid = rest.partition("@")
        ports[name] = Port(name, path, int(pid) if pid else None)

    async def handler(ws: ServerConnection) -> None:
        port = ports.get(ws.request.path.strip("/")) if ws.request else None
        if port is None:
            await ws.close(4004, "no such port")
            return
        await port.serve(ws)

    async with serve(handler, "127.0.0.1", 0, max_size=None, ping_interval=None) as server:
        host, number = next(iter(server.sockets)).getsockname()[:2]
        print(f"ws://{host}:{number}", flush=True)
        await asyncio.gather(*(port.pump() for port in ports.values()))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
