"""The browser link against a local serial port (issue 30), side by side in one run.

Run: `.venv/bin/python bench/bench_browser_link.py [--runs 15] [--file-runs 3]`. One virtual
board at 115200 baud, one real `jupyter server` with mpkernel's relay, one kernel started
through its REST API, reached (a) by the kernel's own serial port (bench/throttle.py's
115200-baud link) and (b) through the page (tests/browser_page.py: the page's side of the
protocol, pacing the port at 115200 next to the board) with 0, 10 and 50 ms added one way
between the page and the server. Printed as min/median/max:

- a trivial cell (execute request to idle); target at 10 ms: <= 1.5 round trips (30 ms)
  beyond the local serial time;
- a 20 KB cell, %put and %get of 64 KB (random bytes), as rates; targets: >= 0.8 of the
  local serial rate at 10 ms one way, >= 0.5 at 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from browser_page import BrowserPage  # noqa: E402
from notebook_server import JupyterServer  # noqa: E402
from throttle import throttled  # noqa: E402

from mpkernel.board.virtual.board import VirtualBoard  # noqa: E402

BIG_CELL = 20_000
FILE_SIZE = 64 * 1024
DELAYS = (0.0, 0.010, 0.050)


def run(kc, code: str, timeout: float = 180) -> float:  # type: ignore[no-untyped-def]
    """Seconds from the execute request to idle; raises if the cell failed."""
    errors: list[str] = []

    def hook(msg: dict) -> None:  # type: ignore[type-arg]
        if msg["msg_type"] == "error":
            errors.append(msg["content"]["evalue"])

    start = time.perf_counter()
    reply = kc.execute_interactive(code, output_hook=hook, timeout=timeout)
    took = time.perf_counter() - start
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{code[:40]!r} failed: {errors}")
    return took


def spread(times: list[float], scale: float = 1.0) -> tuple[float, float, float]:
    values = [t * scale for t in times]
    return min(values), statistics.median(values), max(values)


def measure(kc, runs: int, file_runs: int, folder: Path) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Seconds of each operation, `runs` (or `file_runs`) times after a warm-up."""
    blob = folder / "blob.bin"
    blob.write_bytes(os.urandom(FILE_SIZE))
    big = "s = '" + "b" * (BIG_CELL - 9) + "'\n"
    ops = {
        "trivial cell": ("x = 1", runs),
        "20 KB cell": (big, max(3, runs // 3)),
        "%put 64 KB": (f"%put {blob} blob.bin", file_runs),
        "%get 64 KB": (f"%get blob.bin {folder / 'back.bin'}", file_runs),
    }
    out: dict[str, list[float]] = {}
    for name, (code, n) in ops.items():
        run(kc, code)  # warm up (and the file exists for %get)
        out[name] = [run(kc, code) for _ in range(n)]
    if (folder / "back.bin").read_bytes() != blob.read_bytes():
        raise RuntimeError("%get returned other bytes than %put sent")
    return out


def show(label: str, rows: dict[str, list[float]], local: dict[str, list[float]]) -> None:
    print(f"\n{label}")
    for name, times in rows.items():
        if name == "trivial cell":
            lo, med, hi = spread(times, 1000)
            extra = med - statistics.median(local[name]) * 1000
            print(f"  {name:14} {lo:7.1f} / {med:7.1f} / {hi:7.1f} ms"
                  f"   (+{extra:.1f} ms over local serial)")  # fmt: skip
            continue
        size = BIG_CELL if name == "20 KB cell" else FILE_SIZE
        rates = sorted(size / t / 1000 for t in times)
        ratio = statistics.median(local[name]) / statistics.median(times)
        print(f"  {name:14} {rates[0]:7.2f} / {statistics.median(rates):7.2f} / "
              f"{rates[-1]:7.2f} KB/s   ({ratio:.2f} of local serial)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--file-runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mpk-bench-"))
    server = JupyterServer(work)
    board = VirtualBoard(root=work / "board")
    try:
        kernel_id = server.start_kernel()
        kc = server.client(kernel_id)
        print("min / median / max; rates in KB/s of the payload; one virtual board at 115200")
        with throttled(board.port) as port:
            run(kc, f"%connect {port}")
            local = measure(kc, args.runs, args.file_runs, work)
            run(kc, "%disconnect")
        show("(a) the kernel's own serial port", local, local)
        for delay in DELAYS:
            page = BrowserPage(server.url, kernel_id, board.port, server.token, delay=delay,
                               on_reset=board.press_reset).start()  # fmt: skip
            try:
                run(kc, "%connect browser")
                rows = measure(kc, args.runs, args.file_runs, work)
                run(kc, "%disconnect")
            finally:
                page.stop()
            show(f"(b) through the page, {delay * 1000:.0f} ms one way", rows, local)
        kc.stop_channels()
        server.shutdown_kernel(kernel_id)
    finally:
        board.stop()
        server.stop()


if __name__ == "__main__":
    main()
