"""The byte fuzz test of issue 14 at full size: `python bench/fuzz_bytes.py [--cells 10000]`.

Runs tests/test_byte_fuzz.py's property (cells whose literals and output hold any byte
0-255, some stopped by the stop button) through a kernel on the virtual board, printing
progress every minute and the counts at the end. Any mismatch stops it with the cell.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    args = parser.parse_args()
    os.environ["MPKERNEL_FUZZ_CELLS"] = str(args.cells)
    sys.path.insert(0, str(TESTS))
    import conftest
    import test_byte_fuzz as fuzz

    spec = Path(tempfile.mkdtemp()) / "kernels" / "micropython"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "mpkernel", "-f", "{connection_file}"]
    kernel_json = {"argv": argv, "display_name": "MicroPython", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps({**kernel_json, "interrupt_mode": "signal"}))
    os.environ["JUPYTER_PATH"] = str(spec.parents[1])
    gen = conftest.connected_kernel()
    kernel = next(gen)
    start = time.monotonic()
    done = threading.Event()

    def progress() -> None:
        while not done.wait(60):
            print(f"{time.monotonic() - start:6.0f} s: {dict(fuzz.COUNTS)}", flush=True)

    threading.Thread(target=progress, daemon=True).start()
    try:
        fuzz.test_every_byte_travels_exactly(kernel=kernel)
    finally:
        done.set()
        seconds = time.monotonic() - start
        print(f"fuzz through the kernel, {seconds:.0f} s: {dict(fuzz.COUNTS)}", flush=True)
        gen.close()
    print("every cell matched: 0 mismatches")


if __name__ == "__main__":
    main()
