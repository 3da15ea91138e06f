"""A UART without flow control in front of a board: a small receive buffer that drops bytes.

`python tests/lossy_uart.py PORT --stats FILE` opens PORT (the virtual board's PTY) and
prints the path of a new PTY for the host. Bytes from the host cross the wire at 115200
baud (11,520 bytes/s) into the board's receive buffer (64 bytes). The board takes them out
quickly, except that every so often it is busy (allocating, collecting garbage) and takes
nothing for a while: what arrives meanwhile and does not fit is dropped, silently, as on a
real UART. Ctrl-C bypasses the buffer (the UART interrupt handler acts on it at once).
FILE holds the number of bytes dropped so far. Output from the board is passed straight on.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from throttle import WIRE_RATE, Pacer, open_ports, relay_process


class Receiver:
    """The board side: a small buffer drained by a board that stalls now and then."""

    def __init__(self, size: int, take_rate: float, stall_every: int, stall: float) -> None:
        self.size = size
        self.take_rate = take_rate
        self.stall_every = stall_every
        self.stall = stall
        self.buffer: deque[int] = deque()
        self.dropped = 0
        self.taken = 0
        self.next_take = time.monotonic()

    def arrive(self, data: bytes, board: int) -> None:
        for byte in data:
            if byte == 3:
                os.write(board, b"\x03")
            elif len(self.buffer) < self.size:
                self.buffer.append(byte)
            else:
                self.dropped += 1

    def take(self, now: float) -> bytes:
        """The bytes the board has read by `now`."""
        if not self.buffer:
            self.next_take = max(self.next_take, now)
            return b""
        out = bytearray()
        while self.buffer and self.next_take <= now:
            out.append(self.buffer.popleft())
            self.taken += 1
            self.next_take += 1 / self.take_rate
            if self.taken % self.stall_every == 0:
                self.next_take += self.stall  # busy: reads nothing for a while
        return bytes(out)

    def wait(self, now: float) -> float | None:
        return max(0.0, self.next_take - now) if self.buffer else None


def relay(port: str, stats: Path, size: int, stall_every: int, stall: float) -> None:
    board, master = open_ports(port)
    wire = Pacer(WIRE_RATE)
    receiver = Receiver(size, 50_000, stall_every, stall)
    reported = -1
    while True:
        now = time.monotonic()
        waits = [w for w in (wire.wait(now), receiver.wait(now)) if w is not None]
        ready, _, _ = select.select([master, board], [], [], min(waits) if waits else 1.0)
        if master in ready:
            try:
                wire.pending += os.read(master, 4096)
            except OSError:  # no client has the port open right now
                time.sleep(0.01)
        if board in ready:
            os.write(master, os.read(board, 4096))
        now = time.monotonic()
        receiver.arrive(wire.due(now), board)
        taken = receiver.take(now)
        if taken:
            os.write(board, taken)
        if receiver.dropped != reported:
            reported = receiver.dropped
            stats.write_text(str(reported))


@contextmanager
def lossy(
    port: str, stats: Path, size: int = 64, every: int = 128, stall: float = 0.025
) -> Iterator[str]:
    """Run the relay in its own process; yields the lossy port's path."""
    stats.write_text("0")
    argv = [__file__, port, "--stats", str(stats), "--size", str(size)]
    with relay_process([*argv, "--every", str(every), "--stall", str(stall)]) as path:
        yield path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port")
    parser.add_argument("--stats", type=Path, required=True)
    parser.add_argument("--size", type=int, default=64, help="receive buffer, bytes")
    parser.add_argument("--every", type=int, default=128, help="bytes read between stalls")
    parser.add_argument("--stall", type=float, default=0.025, help="seconds of each stall")
    args = parser.parse_args()
    relay(args.port, args.stats, args.size, args.every, args.stall)


if __name__ == "__main__":
    main()
