"""The BBC micro:bit's MicroPython 1.9.2 under QEMU (tests/microbit.py): a trivial cell and a
4 KB cell through mpkernel (Board.run_cell: verified delivery), against the bare raw REPL
and pyboard.py's way for firmware without raw-paste (32-byte slices, 20 ms pauses), in
the same run. Prints min/median/max milliseconds.

    .venv/bin/python bench/bench_microbit.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from microbit import qemu_microbit

from mpkernel.board.session import Board


def pyboard_way(board: Board, code: bytes) -> bytes:
    """Plain raw REPL as pyboard.py sends without raw-paste; what the board answered."""
    for i in range(0, len(code), 32):
        board.transport.write(code[i : i + 32])
        time.sleep(0.02)
    board.transport.write(b"\x04")
    board.repl.read_until(b"OK", 60)  # its answer starts here (nothing older counts)
    return board.repl.read_until(b"\x04>", 60)


def bare(board: Board, code: bytes) -> bytes:
    """The bare raw REPL: the code and its end in one write, read to the prompt."""
    board.transport.write(code + b"\x04")
    board.repl.read_until(b"OK", 60)  # its answer starts here (nothing older counts)
    return board.repl.read_until(b"\x04>", 60)


def four_kb() -> str:
    """A lesson's 4 KB cell: a two-line function among comment lines."""
    note = "# a comment line of the kind a lesson has, %04d, to make the cell long ..."
    lines = [note % i for i in range(52)]
    body = ["def f(a, b):", "    return a * b"]
    return "\n".join([*lines[:26], *body, *lines[26:], "print(f(6, 7))"])


def code_only() -> str:
    """1 KB of code with nothing to leave out (every byte goes to the board either way)."""
    body = "".join(f"def h{i}(x):\n    return x * {i} + 1\n" for i in range(30))
    return body + "print(h1(41))\n"


def check(answer: bytes) -> None:
    assert b"42" in answer, answer[-80:]


def timed(runs: int, step: Callable[[], object], reset: Callable[[], object]) -> str:
    """min/median/max seconds of `step`, each run on a freshly soft-reset board (its whole
    heap: a failed plain send can leave the board unable to answer)."""
    times = []
    for _ in range(runs):
        reset()
        start = time.perf_counter()
        try:
            step()
        except (TimeoutError, AssertionError):
            return "the board stopped answering (or ran out of memory)"
        times.append(time.perf_counter() - start)
    ms = [t * 1000 for t in times]
    return f"min {min(ms):.2f}  median {statistics.median(ms):.2f}  max {max(ms):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with qemu_microbit() as port:
        board = Board.open(port)
        out: list[str] = []

        def cell(code: str) -> Callable[[], object]:
            def step() -> None:
                result = board.run_cell(code, out.append)
                assert not result.ename, result.evalue

            return step

        def reset() -> None:
            board.soft_reset()

        def nothing() -> None:
            pass

        print("trivial cell, mpkernel:     ", timed(args.runs, cell("x = 1"), nothing))
        raw = timed(args.runs, lambda: bare(board, b"x = 1"), nothing)
        print("trivial cell, bare raw REPL:", raw)
        for name, code in (("4 KB lesson", four_kb()), ("1 KB code", code_only())):
            sent = code.encode()
            print(f"{name} ({len(code)} B), mpkernel:      ", timed(args.runs, cell(code), reset))
            plain = timed(args.runs, lambda s=sent: check(pyboard_way(board, s)), reset)
            print(f"{name} ({len(code)} B), pyboard.py way:", plain)
        board.close()


if __name__ == "__main__":
    main()
