"""Cell latency and upload rate: mpkernel against a bare raw REPL and mpremote (issue 2).

Run: `.venv/bin/python bench/bench_core.py [--runs 200] [--code "print(1)"]`. One virtual
board serves all contenders, over its PTY directly and through the 115200-baud throttled link:

(a) median time of a trivial cell: through the kernel as a frontend sees it (execute
    request to idle), a bare raw-REPL round trip with pyserial, and mpremote's
    in-process SerialTransport executing the same code; printed with ratios.
(b) the upload rate of a 20 KB cell through the kernel over the throttled link, as a
    fraction of the 11,520 bytes/s wire limit.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable

import serial
from jupyter_client.manager import start_new_kernel
from mpremote.transport_serial import SerialTransport as MpremoteTransport
from throttle import WIRE_RATE, throttled

from mpkernel.board.session import Board
from mpkernel.board.virtual.board import VirtualBoard

CODE = "x = 1"


def timings(call: Callable[[], object], runs: int) -> list[float]:
    """Seconds of `runs` calls, after one warm-up."""
    call()  # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


Spread = tuple[float, float, float]  # min, median, max (ms)


def median_ms(call: Callable[[], object], runs: int) -> float:
    return statistics.median(timings(call, runs)) * 1000


def spread_ms(call: Callable[[], object], runs: int) -> Spread:
    """min, median and max milliseconds of `runs` calls."""
    ms = [t * 1000 for t in timings(call, runs)]
    return min(ms), statistics.median(ms), max(ms)


def bare_raw_repl(port: str, runs: int) -> Spread:
    """The floor: write code + Ctrl-D in raw mode, read to the closing `\\x04>`."""
    with serial.Serial(port, 115200, timeout=5, exclusive=True) as ser:
        ser.write(b"\r\x03\x03\r\x01")
        _read_until(ser, b"CTRL-B to exit\r\n>")
        msg = CODE.encode() + b"\x04"

        def once() -> None:
            ser.write(msg)
            _read_until(ser, b"\x04>")

        result = spread_ms(once, runs)
        ser.write(b"\x02")
        return result


def _read_until(ser: serial.Serial, end: bytes) -> bytes:
    data = bytearray()
    while end not in data:
        chunk = ser.read(max(1, ser.in_waiting))
        if not chunk:
            raise TimeoutError(f"no {end!r} from the board; got {bytes(data[-80:])!r}")
        data += chunk
    return bytes(data)


def mpremote_exec(port: str, runs: int) -> Spread:
    transport = MpremoteTransport(port, 115200)
    try:
        transport.enter_raw_repl(soft_reset=False)
        result = spread_ms(lambda: transport.exec(CODE), runs)
        transport.exit_raw_repl()
        return result
    finally:
        transport.close()


def engine_run_cell(port: str, runs: int) -> Spread:
    """mpkernel's own engine in-process (what mpremote's row compares with)."""
    board = Board.open(port)
    try:
        return spread_ms(lambda: board.run_cell(CODE, lambda text: None), runs)
    finally:
        board.close()


class KernelUnderTest:
    """A kernel started as Jupyter starts it (mpkernel unless `name` says otherwise)."""

    def __init__(self, name: str = "micropython") -> None:
        self.km, self.kc = start_new_kernel(kernel_name=name)

    def run(self, code: str) -> dict:
        reply = self.kc.execute_interactive(code, output_hook=lambda msg: None, timeout=120)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{code[:40]!r} failed: {reply['content']}")
        return reply

    def cell_ms(self, runs: int, code: str | None = None) -> Spread:
        return spread_ms(lambda: self.run(CODE if code is None else code), runs)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def big_cell(size: int) -> str:
    """About `size` bytes of real code (assignments the board must compile)."""
    lines, total, i = [], 0, 0
    while total < size:
        line = f"v{i % 50} = {i * 7919 % 1000003} + {i}  # sample line {i:06d}\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines)


def main() -> None:
    global CODE  # the cell every contender runs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--slow-runs", type=int, default=30, help="runs on the throttled link")
    parser.add_argument(
        "--code", default=CODE, help="the cell (default 'x = 1'; 'print(1)': a cell that prints)"
    )
    parser.add_argument("--no-upload", action="store_true", help="skip (b), the 20 KB cell")
    args = parser.parse_args()
    CODE = args.code

    with tempfile.TemporaryDirectory() as root:
        board = VirtualBoard(root=root)
        host = KernelUnderTest("python3")
        host_ms = host.cell_ms(args.runs, "x = 1")
        host.close()
        kernel = KernelUnderTest()
        try:
            print(f"mpkernel bench_core: trivial cell {CODE!r}, virtual board (unix port)\n")
            for link, runs, port_of in (
                ("PTY (no rate limit)", args.runs, None),
                ("throttled 115200 8N1", args.slow_runs, WIRE_RATE),
            ):
                if port_of is None:
                    rows = measure(board.port, kernel, runs)
                else:
                    with throttled(board.port) as slow:
                        rows = measure(slow, kernel, runs)
                bare = rows["bare raw REPL (pyserial)"][1]
                print(f"(a) {link}, {runs} runs, ms min / median / max:")
                for name, (low, mid, high) in rows.items():
                    print(
                        f"    {name:28s} {low:7.2f} {mid:7.2f} {high:7.2f}   "
                        f"{mid / bare:5.2f}x bare"
                    )
                low, mid, high = host_ms
                print(f"    {'IPython kernel, host x = 1':28s} {low:7.2f} {mid:7.2f} {high:7.2f}")
                engine = rows["mpkernel engine (run_cell)"][1]
                ratio = rows["mpremote SerialTransport"][1] / engine
                idle = rows["mpkernel (execute to idle)"][1]
                board_part = idle - rows["mpkernel, empty cell"][1]
                print(
                    f"    engine: {engine / bare:.2f}x bare, {ratio:.2f}x as fast as mpremote; "
                    f"execute to idle {idle / host_ms[1]:.2f}x the IPython kernel's; board part "
                    f"of a kernel cell (cell - empty cell) {board_part:.2f} ms\n"
                )

            if args.no_upload:
                return
            with throttled(board.port) as slow:
                kernel.run(f"%connect {slow}")
                cell = big_cell(20 * 1024)
                kernel.run(CODE)
                start = time.perf_counter()
                kernel.run(cell)
                seconds = time.perf_counter() - start
                kernel.run("%disconnect")
            rate = len(cell) / seconds
            print(
                f"(b) 20 KB cell through the kernel, throttled link: {len(cell)} B in "
                f"{seconds:.2f} s = {rate:,.0f} B/s = {rate / WIRE_RATE:.2f} of the wire limit"
            )
        finally:
            kernel.close()
            board.stop()


def measure(port: str, kernel: KernelUnderTest, runs: int) -> dict[str, Spread]:
    rows = {"bare raw REPL (pyserial)": bare_raw_repl(port, runs)}
    rows["mpremote SerialTransport"] = mpremote_exec(port, runs)
    rows["mpkernel engine (run_cell)"] = engine_run_cell(port, runs)
    kernel.run(f"%connect {port}")
    rows["mpkernel (execute to idle)"] = kernel.cell_ms(runs)
    rows["mpkernel, empty cell"] = kernel.cell_ms(runs, "")
    kernel.run("%disconnect")
    return rows


if __name__ == "__main__":
    main()
