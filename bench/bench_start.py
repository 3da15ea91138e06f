"""Kernel start plus the first cell: mpkernel on the virtual board against the IPython kernel
(issue 28). Run: `.venv/bin/python bench/bench_start.py [--runs 10]`.

Each run starts a kernel as Jupyter does (jupyter_client: process start, connection,
kernel_info answered), runs its first cell to idle and shuts it down; the two kernels take
turns, so that a busy machine weighs on both alike. mpkernel's first cell connects to the
virtual board (a fresh MicroPython unix port behind a PTY) and runs there; the IPython
kernel runs the same cell on the host. Printed: min/median/max seconds and the ratio.

mpkernel's bytecode is compiled first, as `pip install` does for ipykernel's: an editable
install under PYTHONDONTWRITEBYTECODE would otherwise compile every module at each start.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import time

from jupyter_client.manager import start_new_kernel

import mpkernel

CELL = "x = 1+1"


def start_and_first_cell(name: str) -> float:
    """Seconds from starting kernel `name` to the first cell's idle."""
    start = time.perf_counter()
    km, kc = start_new_kernel(kernel_name=name)
    try:
        reply = kc.execute_interactive(CELL, output_hook=lambda msg: None, timeout=60)
        seconds = time.perf_counter() - start
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{name}: {CELL!r} failed: {reply['content']}")
        return seconds
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def spread(times: list[float]) -> str:
    return f"min {min(times):.3f}  median {statistics.median(times):.3f}  max {max(times):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    os.environ.pop("MPKERNEL_PORT", None)  # the first cell connects to the virtual board
    compileall.compile_dir(os.path.dirname(mpkernel.__file__), quiet=1)
    kernels = {"IPython kernel (python3)": "python3", "mpkernel, virtual board": "micropython"}
    times: dict[str, list[float]] = {label: [] for label in kernels}
    for name in kernels.values():
        start_and_first_cell(name)  # warm up: the file cache, the unix port's binary
    for _ in range(args.runs):
        for label, name in kernels.items():
            times[label].append(start_and_first_cell(name))
    print(f"kernel start + first cell {CELL!r}, {args.runs} runs each, taking turns:")
    for label, seen in times.items():
        print(f"    {label:26s} {spread(seen)}")
    theirs, ours = (statistics.median(t) for t in times.values())
    print(f"    mpkernel / IPython kernel (medians): {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
