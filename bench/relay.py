"""A TCP relay on 127.0.0.1 that behaves like a slow WiFi link: delay, rate cap, stalls.

`python bench/relay.py TARGET_PORT [--delay 0.01] [--rate 250000]` listens on a free port of
127.0.0.1, prints it, and forwards every connection to 127.0.0.1:TARGET_PORT. Each direction
is a link of its own: bytes leave no faster than `rate` bytes/s (in packets of at most
MTU bytes) and arrive `delay` seconds later (one way: the round trip is 2 x delay). A tool
under test connects to ws://127.0.0.1:PORT as it would to a board.

In a test, `Relay(...)` runs the same relay in threads; `stall_after=N` freezes both
directions once N bytes went towards the target (a link that stops carrying anything, as a
board walking out of WiFi range), for `stall_for` seconds or until `resume()`; `flip_at=N`
damages the byte at offset N towards the target.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import socket
import threading
import time

MTU = 1460  # bytes per packet (a TCP segment on Ethernet/WiFi)
QUEUE_MAX = 64 * 1024  # bytes a direction holds beyond the link before it stops reading
#: Each relay socket's receive buffer: small, as a board's TCP window is (ESP8266: ~5.8 KB),
#: so a stalled link soon stops accepting bytes and the sender sees it.
RCVBUF = 16 * 1024


class Link:
    """One direction: packets queue up, leave at `rate` bytes/s, arrive `delay` s later."""

    def __init__(self, relay: Relay, src: socket.socket, dst: socket.socket, up: bool) -> None:
        self.relay, self.src, self.dst, self.up = relay, src, dst, up
        self.cond = threading.Condition()
        self.packets: collections.deque[tuple[float, bytes]] = collections.deque()
        self.queued = 0
        self.free_at = 0.0  # when the link has sent everything queued so far
        self.eof = False

    def start(self) -> None:
        for target in (self._receive, self._deliver):
            threading.Thread(target=target, daemon=True, name="relay-link").start()

    def _receive(self) -> None:
        try:
            while True:
                with self.cond:
                    while self.queued >= QUEUE_MAX and not self.relay.closed:
                        self.cond.wait(0.1)
                data = self.src.recv(16 * 1024)
                if not data:
                    break
                data = self.relay.count(self.up, data)
                with self.cond:
                    now = time.monotonic()
                    for i in range(0, len(data), MTU):
                        packet = data[i : i + MTU]
                        start = max(now, self.free_at)
                        self.free_at = start + len(packet) / self.relay.rate
                        self.packets.append((self.free_at + self.relay.delay, packet))
                        self.queued += len(packet)
                    self.cond.notify_all()
        except OSError:
            pass
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def _deliver(self) -> None:
        try:
            while True:
                with self.cond:
                    while True:
                        if self.relay.closed:
                            return
                        wait = 0.1
                        if self.packets and not self.relay.stalled():
                            wait = self.packets[0][0] - time.monotonic()
                            if wait <= 0:
                                _, packet = self.packets.popleft()
                                self.queued -= len(packet)
                                self.cond.notify_all()
                                break
                        elif self.eof and not self.packets:
                            self.dst.shutdown(socket.SHUT_WR)
                            return
                        self.cond.wait(min(wait, 0.1))
                self.dst.sendall(packet)
        except OSError:
            pass
        finally:
            self.relay.drop(self)


class Relay:
    """The relay, in threads: 127.0.0.1:`port` forwards to 127.0.0.1:`target`."""

    def __init__(
        self,
        target: int,
        delay: float = 0.0,
        rate: float = 250_000,
        port: int = 0,
        stall_after: int | None = None,
        stall_for: float = 10.0,
    ) -> None:
        self.target, self.delay, self.rate = target, delay, rate
        self.stall_after, self.stall_for = stall_after, stall_for
        #: Flip one bit of the byte at this offset towards the target (damage that TCP's own
        #: checksum would not catch: what a board's verification must).
        self.flip_at: int | None = None
        self.closed = False
        self.sent = {True: 0, False: 0}  # bytes received from each side (True: towards target)
        self._stall_until: float | None = None
        self._lock = threading.Lock()
        self._links: list[Link] = []
        self._sockets: list[socket.socket] = []
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self.server.bind(("127.0.0.1", port))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="relay-accept").start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                board = socket.socket()
                board.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
                board.connect(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            for sock in (client, board):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            links = [Link(self, client, board, True), Link(self, board, client, False)]
            with self._lock:
                self._sockets += [client, board]
                self._links += links
            for link in links:
                link.start()

    def count(self, up: bool, data: bytes) -> bytes:
        """Count bytes received from one side; returns them as the link carries them on."""
        with self._lock:
            before = self.sent[up]
            self.sent[up] += len(data)
            if up and self.stall_after is not None and self.sent[True] >= self.stall_after:
                self.stall_after = None
                self._stall_until = time.monotonic() + self.stall_for
            at = self.flip_at
            if up and at is not None and before <= at < self.sent[True]:
                self.flip_at = None
                data = bytearray(data)
                data[at - before] ^= 0x01
                data = bytes(data)
        return data

    def stalled(self) -> bool:
        """Whether the link carries nothing right now (what waits leaves when it ends)."""
        until = self._stall_until
        return until is not None and time.monotonic() < until

    def stall(self, seconds: float = 3600.0) -> None:
        """Stop carrying bytes in both directions for `seconds` (or until resume())."""
        with self._lock:
            self._stall_until = time.monotonic() + seconds

    def resume(self) -> None:
        with self._lock:
            self._stall_until = None

    def drop(self, link: Link) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._links.remove(link)

    def cut(self) -> None:
        """Close every relayed connection (both sides see the link drop)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.server.close()
        self.cut()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=int, help="the WebREPL server's port on 127.0.0.1")
    parser.add_argument("--delay", type=float, default=0.01, help="one-way delay, seconds")
    parser.add_argument("--rate", type=float, default=250_000, help="bytes/s each way")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    relay = Relay(args.target, args.delay, args.rate, args.port)
    print(relay.port, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
