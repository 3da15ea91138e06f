"""A serial link throttled to a UART's byte rate: 115200 baud 8N1 carries 11,520 bytes/s.

`python bench/throttle.py PORT [--rate 11520]` opens PORT (a PTY such as the virtual
board's) and prints the path of a new PTY; bytes cross between the two in both
directions no faster than the rate, each direction paced on its own (a UART is full
duplex). Tools under test open the printed path as they would open /dev/ttyUSB0.
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager

WIRE_RATE = 11_520  # bytes/s at 115200 baud, 8N1 (10 bits a byte)


class Pacer:
    """Releases bytes no faster than `rate` per second (a byte-clocked wire)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.pending = bytearray()
        self.free_at = time.monotonic()  # when the wire is next idle

    def due(self, now: float, limit: int = 256) -> bytes:
        """The bytes whose transmission has completed by `now` (at most `limit`)."""
        if not self.pending:
            self.free_at = max(self.free_at, now)
            return b""
        n = int((now - self.free_at) * self.rate)
        n = min(n, len(self.pending), limit)
        if n <= 0:
            return b""
        self.free_at += n / self.rate
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out

    def wait(self, now: float) -> float | None:
        """Seconds until the next byte is due, or None when nothing is pending."""
        if not self.pending:
            return None
        return max(0.0, self.free_at + 1 / self.rate - now)


def open_ports(port: str) -> tuple[int, int]:
    """The board's port and the master side of a new PTY, both raw; prints the PTY's path
    (what clients open instead of the board's port)."""
    board = os.open(port, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(board)
    master, slave = os.openpty()
    tty.setraw(slave)
    print(os.ttyname(slave), flush=True)
    return board, master


def relay(port: str, rate: float) -> None:
    board, master = open_ports(port)
    to_board, to_host = Pacer(rate), Pacer(rate)
    while True:
        now = time.monotonic()
        waits = [w for w in (to_board.wait(now), to_host.wait(now)) if w is not None]
        ready, _, _ = select.select([master, board], [], [], min(waits) if waits else 1.0)
        if master in ready:
            try:
                to_board.pending += os.read(master, 4096)
            except OSError:  # no client has the port open right now
                time.sleep(0.01)
        if board in ready:
            to_host.pending += os.read(board, 4096)
        now = time.monotonic()
        for pacer, fd in ((to_board, board), (to_host, master)):
            data = pacer.due(now)
            if data:
                os.write(fd, data)


@contextmanager
def relay_process(argv: list[str]) -> Iterator[str]:
    """Run a relay script (argv after the interpreter) in its own process; yields the path
    of the port it prints first."""
    proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait()


@contextmanager
def throttled(port: str, rate: float = WIRE_RATE) -> Iterator[str]:
    """Run the relay in its own process; yields the throttled port's path."""
    with relay_process([__file__, port, "--rate", str(rate)]) as path:
        yield path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port")
    parser.add_argument("--rate", type=float, default=WIRE_RATE)
    args = parser.parse_args()
    relay(args.port, args.rate)


if __name__ == "__main__":
    main()
