"""A WebREPL server for tests: the package's server (mpkernel.board.virtual.webrepl_server) in
front of a virtual board's serial port, so tests can watch every frame a client sends.

The virtual board serves its own WebREPL too (webrepl.start() on the board); this harness is
for tests of the client that need to see frames (`received`), count connections, or kill
the server mid-cell. A soft reset drops the client, as the firmware does.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from pathlib import Path

from mpkernel.board.virtual.board import VirtualBoard
from mpkernel.board.virtual.webrepl_server import HEADER
from mpkernel.board.virtual.webrepl_server import WebReplServer as _Server

__all__ = ["HEADER", "WebReplServer"]


class WebReplServer:
    """Serve one virtual board over WebREPL on 127.0.0.1:`port` (0: a free port)."""

    def __init__(
        self,
        root: str | Path,
        password: str = "pass123",
        port: int = 0,
        hide: str | None = None,
        nagle: bool = False,
    ) -> None:
        """`hide`: modules the board lacks (VirtualBoard's `hide`, e.g. "hashlib"); `nagle`:
        the server's socket keeps Nagle's algorithm on, as a board's lwIP does."""
        self.board = VirtualBoard(root=root, hide=hide)
        self.root = Path(self.board.root)
        self.fd = os.open(self.board.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self._wait_for_banner()
        self.received: list[tuple[str, bytes]] = []  # (kind, payload) of every data frame
        self.server = _Server(
            self.root, password, self._to_repl, port=port, record=self.received, nagle=nagle
        )
        self.port = self.server.port
        self._wake_r, self._wake_w = os.pipe()
        self._stopped = False
        self._tail = b""
        self._thread = threading.Thread(target=self._run, name="webrepl-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def client(self) -> object | None:
        return self.server.session

    @property
    def connections(self) -> int:
        return self.server.connections

    @property
    def rejected(self) -> int:
        return self.server.rejected

    def _wait_for_banner(self, timeout: float = 10.0) -> None:
        """Until the board has printed its first prompt (it goes to the UART only)."""
        seen = b""
        end = time.monotonic() + timeout
        while b">>> " not in seen and time.monotonic() < end:
            if select.select([self.fd], [], [], 0.1)[0]:
                with contextlib.suppress(BlockingIOError):
                    seen += os.read(self.fd, 4096)

    def _to_repl(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.fd, view) :]
            except BlockingIOError:
                select.select([], [self.fd], [], 0.1)

    def _run(self) -> None:
        while not self._stopped:
            socks = self.server.sockets()
            ready, _, _ = select.select([self.fd, self._wake_r, *socks], [], [], 0.5)
            if self._stopped:
                break
            for sock in socks:
                if sock in ready:
                    self.server.handle(sock)
            if self.fd in ready:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    time.sleep(0.01)
                    continue
                self.server.repl_output(data)
                seen = self._tail + data
                self._tail = seen[-32:]
                if b"soft reboot" in seen:  # a soft reset ends WebREPL's socket
                    self._tail = b""
                    self.server.drop_client()

    def stop(self) -> None:
        """Kill the server (clients see the link drop) and its board."""
        if self._stopped:
            return
        self._stopped = True
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        self.server.close()
        for fd in (self.fd, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.board.stop()
