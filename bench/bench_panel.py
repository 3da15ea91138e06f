"""The board panel's speed (issue 16): listing 200 files, and uploading through the panel
against `%put`.

Run: `.venv/bin/python bench/bench_panel.py [--kb 64] [--runs 5]`. One kernel, started as
Jupyter starts it, talks to its `mpkernel.board` comm as the extension does (over
jupyter_client). It runs on the virtual board directly (the figure the issue's 1 s target
is about) and behind the 115200-baud throttled link (a real board's wire).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench_core import KernelUnderTest, median_ms
from throttle import WIRE_RATE, throttled

from mpkernel.board.virtual.board import VirtualBoard

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from panel_client import PanelClient  # the tests' client of the comm


def median_s(call: Callable[[], object], runs: int) -> float:
    """Median seconds of `runs` calls, after one warm-up (bench_core.median_ms)."""
    return median_ms(call, runs) / 1000


def fill(root: Path, count: int) -> None:
    """`count` small files in 10 folders, as a board with a project and its libraries."""
    for i in range(count):
        folder = root / f"pkg{i % 10}"
        folder.mkdir(exist_ok=True)
        (folder / f"module{i:03d}.py").write_text(f"VALUE = {i}\n")


def measure(
    kernel: KernelUnderTest, panel: PanelClient, port: str, data: bytes, runs: int
) -> tuple[int, float, float, float]:
    kernel.run(f"%connect {port}")
    panel.ok("status")  # file caps and provenance are asked once per connection
    entries = panel.ok("ls")["entries"]
    listing = median_s(lambda: panel.ok("ls"), runs)
    local = Path.cwd() / "bench_panel_upload.bin"
    local.write_bytes(data)
    try:
        panel_put = median_s(lambda: panel.ok("write", [data], path="up_panel.bin"), runs)
        magic_put = median_s(lambda: kernel.run("%put bench_panel_upload.bin up_magic.bin"), runs)
    finally:
        local.unlink()
    return len(entries), listing, len(data) / panel_put, len(data) / magic_put


def report(label: str, figures: tuple[int, float, float, float]) -> None:
    n, listing, panel_rate, magic_rate = figures
    print(f"{label}:")
    print(f"  list {n} entries (recursive)   {listing * 1000:8.0f} ms")
    print(f"  upload through the panel     {panel_rate:10,.0f} B/s")
    print(f"  %put                         {magic_rate:10,.0f} B/s")
    print(f"  panel / %put                 {panel_rate / magic_rate:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=64, help="upload size in KB (default 64)")
    parser.add_argument("--files", type=int, default=200, help="files on the board")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    args = parser.parse_args()
    data = random.Random(16).randbytes(args.kb * 1024)
    print(f"bench_panel: {args.files} files listed, {args.kb} KB uploaded; medians of {args.runs}")
    with tempfile.TemporaryDirectory() as root:
        fill(Path(root), args.files)
        board = VirtualBoard(root=root)
        kernel = KernelUnderTest()
        panel = PanelClient(kernel.kc)
        try:
            report("virtual board (PTY)", measure(kernel, panel, board.port, data, args.runs))
            kernel.run("%disconnect")  # the relay below is then the port's only opener
            with throttled(board.port) as slow:
                report("115200 baud", measure(kernel, panel, slow, data, args.runs))
                print(f"  (wire limit {WIRE_RATE:,} B/s)")
                kernel.run("%disconnect")
        finally:
            panel.close()
            kernel.kc.stop_channels()
            kernel.km.shutdown_kernel(now=True)
            board.stop()


if __name__ == "__main__":
    main()
