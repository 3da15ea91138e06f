"""A serial link throttled to a UART's byte rate: 115200 baud 8N1 carries 11,520 bytes/s.

`python bench/throttle.py PORT [--rate 11520]` opens PORT (a PTY such as the virtual
board's) and prints the path of a new PTY; bytes cross between the two in both
directions no faster than the rate, each direction paced on its own (a UART is full
duplex). Tools under test open the printed path as they would open /dev/ttyUSB0.
With `--follow-baud` the rate is the printed port's baud rate / 10, as its client sets it
(a flashing tool that switches to 460800 gets a 460800-baud wire from then on), and bytes
cross in 1 ms batches, as USB full-speed frames carry them (a wake-up per byte at 460800
baud would take a core).
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager

WIRE_RATE = 11_520  # bytes/s at 115200 baud, 8N1 (10 bits a byte)
USB_FRAME = 0.001  # seconds: a USB full-speed frame


class Pacer:
    """Releases bytes no faster than `rate` per second (a byte-clocked wire)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.pending = bytearray()
        self.free_at = time.monotonic()  # when the wire is next idle

    def add(self, data: bytes, now: float) -> None:
        """Bytes written at `now`: an idle wire banks no time (a UART that sat idle does not
        send the next bytes any sooner)."""
        if not self.pending:
            self.free_at = max(self.free_at, now)
        self.pending += data

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


#: termios speed constants -> baud rates.
SPEEDS = {
    getattr(termios, name): int(name[1:])
    for name in dir(termios)
    if name.startswith("B") and name[1:].isdigit()
}


def open_ports(port: str) -> tuple[int, int]:
    """The board's port and the master side of a new PTY, both raw; prints the PTY's path
    (what clients open instead of the board's port)."""
    board = os.open(port, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(board)
    master, slave = os.openpty()
    tty.setraw(slave)
    print(os.ttyname(slave), flush=True)
    return board, master


def client_rate(master: int, default: float) -> float:
    """Bytes/s of the baud rate the PTY's client set (10 bits a byte)."""
    baud = SPEEDS.get(termios.tcgetattr(master)[5], 0)
    return baud / 10 if baud else default


def relay(port: str, rate: float, follow_baud: bool = False) -> None:
    board, master = open_ports(port)
    to_board, to_host = Pacer(rate), Pacer(rate)
    floor = USB_FRAME if follow_baud else 0.0
    while True:
        if follow_baud:
            to_board.rate = to_host.rate = client_rate(master, rate)
        now = time.monotonic()
        waits = [max(w, floor) for w in (to_board.wait(now), to_host.wait(now)) if w is not None]
        ready, _, _ = select.select([master, board], [], [], min(waits) if waits else 1.0)
        now = time.monotonic()
        if master in ready:
            try:
                to_board.add(os.read(master, 4096), now)
            except OSError:  # no client has the port open right now
                time.sleep(0.01)
        if board in ready:
            to_host.add(os.read(board, 4096), now)
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
def throttled(port: str, rate: float = WIRE_RATE, follow_baud: bool = False) -> Iterator[str]:
    """Run the relay in its own process; yields the throttled port's path."""
    follow = ["--follow-baud"] if follow_baud else []
    with relay_process([__file__, port, "--rate", str(rate), *follow]) as path:
        yield path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port")
    parser.add_argument("--rate", type=float, default=WIRE_RATE)
    parser.add_argument("--follow-baud", action="store_true")
    args = parser.parse_args()
    relay(args.port, args.rate, args.follow_baud)


if __name__ == "__main__":
    main()
