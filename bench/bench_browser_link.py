"""The browser link against a local serial port (issue 30), side by side in one run.

Run: `.venv/bin/python bench/bench_browser_link.py [--rounds 6] [--file-rounds 3]`. One
virtual board at 115200 baud, one real `jupyter server` with mpkernel's relay, one kernel
started through its REST API, reached (a) by the kernel's own serial port (bench/throttle.py's
115200-baud link) and (b) through the page (tests/browser_page.py: the page's side of the
protocol, on the same throttled port, as a USB-serial adapter paces the line next to the
board) with 0, 10 and 50 ms added one way between the page and the server. The four links
take turns, round after round (each round connects each link once), so a busy machine weighs
on all of them alike. Printed as min/median/max:

- a trivial cell (execute request to idle); target at 10 ms: <= 1.5 round trips (30 ms)
  beyond the local serial time;
- a 20 KB cell, %put and %get of 64 KB (random bytes), as rates; targets: >= 0.8 of the
  local serial rate at 10 ms one way, >= 0.5 at 50 ms.
- round trips (the trivial cell, and everything at 50 ms): what an operation's median takes
  beyond the 0 ms page's, in round trips of the added delay (how often the kernel waits for
  the board's answer through the page).
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


def operations(folder: Path) -> dict[str, str]:
    blob = folder / "blob.bin"
    if not blob.exists():
        blob.write_bytes(os.urandom(FILE_SIZE))
    return {
        "trivial cell": "x = 1",
        "20 KB cell": "s = '" + "b" * (BIG_CELL - 9) + "'\n",
        "%put 64 KB": f"%put {blob} blob.bin",
        "%get 64 KB": f"%get blob.bin {folder / 'back.bin'}",
    }


def measure_round(  # type: ignore[no-untyped-def]
    kc, out: dict[str, list[float]], trivial: int, files: bool, folder: Path
) -> None:
    """One round on the link connected now: `trivial` trivial cells, a 20 KB cell, and
    with `files` a %put and a %get (checked)."""
    ops = operations(folder)
    run(kc, ops["trivial cell"])  # warm up
    for name, code in ops.items():
        if name.startswith("%") and not files:
            continue
        for _ in range(trivial if name == "trivial cell" else 1):
            out.setdefault(name, []).append(run(kc, code))
    if files and (folder / "back.bin").read_bytes() != (folder / "blob.bin").read_bytes():
        raise RuntimeError("%get returned other bytes than %put sent")


def show(
    label: str,
    rows: dict[str, list[float]],
    local: dict[str, list[float]],
    base: dict[str, list[float]] | None = None,
    delay: float = 0.0,
) -> None:
    """One link's rows; with `base` (the 0 ms page), the round trips the delay added."""
    print(f"\n{label}")
    for name, times in rows.items():
        trips = ""
        # At 10 ms a round trip is lost in a transfer's spread; the trivial cell shows it.
        if base is not None and delay > 0 and (delay >= max(DELAYS) or name == "trivial cell"):
            extra = statistics.median(times) - statistics.median(base[name])
            trips = f"   ~{extra / (2 * delay):.1f} round trips"
        if name == "trivial cell":
            lo, med, hi = spread(times, 1000)
            extra = med - statistics.median(local[name]) * 1000
            print(f"  {name:14} {lo:7.1f} / {med:7.1f} / {hi:7.1f} ms"
                  f"   ({extra:+.1f} ms over local serial){trips}")  # fmt: skip
            continue
        size = BIG_CELL if name == "20 KB cell" else FILE_SIZE
        rates = sorted(size / t / 1000 for t in times)
        ratio = statistics.median(local[name]) / statistics.median(times)
        print(f"  {name:14} {rates[0]:7.2f} / {statistics.median(rates):7.2f} / "
              f"{rates[-1]:7.2f} KB/s   ({ratio:.2f} of local serial){trips}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--file-rounds", type=int, default=3)
    parser.add_argument("--trivial", type=int, default=3, help="trivial cells per round")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mpk-bench-"))
    server = JupyterServer(work)
    board = VirtualBoard(root=work / "board")
    links: list[float | None] = [None, *DELAYS]
    rows: dict[float | None, dict[str, list[float]]] = {link: {} for link in links}
    try:
        kernel_id = server.start_kernel()
        kc = server.client(kernel_id)
        for n in range(args.rounds):
            files = n < args.file_rounds
            for link in links:
                with throttled(board.port) as port:
                    if link is None:
                        run(kc, f"%connect {port}")
                        measure_round(kc, rows[link], args.trivial, files, work)
                        run(kc, "%disconnect")
                        continue
                    page = BrowserPage(server.url, kernel_id, port, server.token,
                                       delay=link, paced=False).start()  # fmt: skip
                    try:
                        run(kc, "%connect browser")
                        measure_round(kc, rows[link], args.trivial, files, work)
                        run(kc, "%disconnect")
                    finally:
                        page.stop()
        kc.stop_channels()
        server.shutdown_kernel(kernel_id)
    finally:
        board.stop()
        server.stop()
    print("min / median / max; rates in KB/s of the payload; one virtual board at 115200;")
    print(f"{args.rounds} rounds (files in {args.file_rounds}), the links taking turns")
    local = rows[None]
    show("(a) the kernel's own serial port", local, local)
    for delay in DELAYS:
        label = f"(b) through the page, {delay * 1000:.0f} ms one way"
        show(label, rows[delay], local, rows[DELAYS[0]], delay)


if __name__ == "__main__":
    main()
