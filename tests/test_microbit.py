"""Old, small firmware on a real old board: the BBC micro:bit's MicroPython 1.9.2 under
QEMU (tests/microbit.py: no raw-paste, no sys.stdin, a flat filesystem without os.stat,
~8 KB of free heap), through a real kernel (issue 25)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_interrupt_keeps_state, run, start_kernel
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from lossy_uart import lossy
from microbit import qemu_microbit
from test_provenance import records

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def microbit(microbit_port: str) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    km, kc = start_kernel()
    try:
        r = run(kc, f"%connect {microbit_port}", timeout=120)
        assert r.status == "ok", r.reply
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture
def mb(microbit: tuple[KernelManager, BlockingKernelClient]) -> BlockingKernelClient:
    """The micro:bit's kernel, after a soft reset: each test starts with the whole heap (a
    session on ~8 KB fills and fragments it, as a user's does, until %reset)."""
    r = run(microbit[1], "%reset", timeout=60)
    assert r.status == "ok", r.reply
    return microbit[1]


def comments_cell(size: int, tag: int) -> str:
    """About `size` bytes: comment lines around a two-line function."""
    note = "# a comment line of the kind a lesson has, %04d, to make the cell long ..."
    lines = [note % i for i in range(size // 76)]
    half = len(lines) // 2
    body = ["def f(a, b):", f"    return a * b + {tag}"]
    return "\n".join([*lines[:half], *body, *lines[half:], "print('c', f(6, 7))"])


def docstring_cell(size: int, tag: int) -> str:
    """About `size` bytes: a function with a long docstring."""
    doc = "\n".join(f"    Explains argument {i} of the lesson's function, line by line."
                    for i in range(size // 66))  # fmt: skip
    return f'def g(x):\n    """{doc}\n    """\n    return x + {tag}\nprint("d", g(1))'


LESSON = """
class Counter:
    \"\"\"Counts button presses, as a lesson's first class does.\"\"\"

    def __init__(self, start=0):
        self.n = start  # where counting starts

    def press(self, times=1):
        for _ in range(times):
            self.n += 1
        return self.n


def mean(values):
    # the average of a list of readings
    return sum(values) / len(values) if values else 0


readings = [3, 5, 8, 13, 21]
c = Counter(TAG)
c.press(4)
print("l", c.n, mean(readings), [v * 2 for v in readings if v % 2])
"""


def lesson_cell(size: int, tag: int) -> str:
    """About `size` bytes of a lesson: real code (a class, functions, a comprehension)
    between comment lines that explain it."""
    code = LESSON.replace("TAG", str(tag))
    note = "# the lesson explains each step here, line %04d of the notes, for the class .."
    lines = [note % i for i in range(max(0, size - len(code)) // 80)]
    half = len(lines) // 2
    return "\n".join([*lines[:half], code, *lines[half:]])


def code_cell(size: int, tag: int) -> str:
    """About `size` bytes of real code only: small functions, each called."""
    n = size // 68
    parts = [f"def h{i}(x):\n    y = x * {i} + {tag}\n    return y if y >= 0 else -y\n"
             for i in range(n)]  # fmt: skip
    parts.append(f"print('r', {'+'.join(f'h{i}(1)' for i in range(n))})\n")
    parts.append(f"for i in range({n}):\n    del globals()['h%d' % i]\n")
    return "".join(parts)


def expected(kind: str, size: int, tag: int) -> str:
    if kind == "comments":
        return f"c {42 + tag}\n"
    if kind == "docstring":
        return f"d {1 + tag}\n"
    if kind == "lesson":
        return f"l {tag + 4} 10.0 [6, 10, 26, 42]\n"
    return f"r {sum(abs(i + tag) for i in range(size // 68))}\n"


CELLS = {"comments": comments_cell, "docstring": docstring_cell, "lesson": lesson_cell}


def test_it_is_the_real_old_firmware(mb: BlockingKernelClient) -> None:
    r = run(mb, "import sys\nprint(sys.implementation.version, hasattr(sys, 'stdin'))")
    assert r.stdout == "(1, 9, 2) False\n", r.text


def test_real_code_runs_up_to_what_the_heap_holds(mb: BlockingKernelClient) -> None:
    """1 KB of code only, no comments (pyboard.py's way runs 1.5 KB on a fresh board)."""
    code = code_cell(1024, 3)
    r = run(mb, code, timeout=120)
    assert (r.status, r.stdout) == ("ok", expected("code", 1024, 3)), r.reply


def test_long_cells_20_in_a_row(mb: BlockingKernelClient) -> None:
    """Cells of 1, 2, 4 and 6 KB (comments, docstrings, a lesson's code and notes), 20 in
    a row, run intact: what the board runs sent as pyboard.py sends it (issue 25)."""
    plan = [(kind, kb) for kb in (1, 2, 4, 6) for kind in CELLS]
    plan += [("comments", 1), ("lesson", 2), ("docstring", 4), ("comments", 6), ("lesson", 1)]
    plan += [("docstring", 2), ("lesson", 4), ("lesson", 6)]
    assert len(plan) == 20
    for tag, (kind, kb) in enumerate(plan):
        size = kb * 1024
        code = CELLS[kind](size, tag)
        assert abs(len(code) - size) < 200, (kind, kb, len(code))
        r = run(mb, code, timeout=120)
        assert (r.status, r.stdout) == ("ok", expected(kind, size, tag)), (kind, kb, r.reply)
    assert run(mb, "import os\nos.listdir()").result == "[]"  # no staging file left


def test_output_of_any_length(mb: BlockingKernelClient) -> None:
    r = run(mb, "for i in range(1500):\n    print('line', i, 'of output')", timeout=120)
    lines = r.stdout.splitlines()
    assert r.status == "ok" and len(lines) == 1500, r.text[-200:]
    assert lines[0] == "line 0 of output" and lines[-1] == "line 1499 of output"


def test_stop_button(
    microbit: tuple[KernelManager, BlockingKernelClient], mb: BlockingKernelClient
) -> None:
    km, kc = microbit
    assert_interrupt_keeps_state(km, kc, within=15)


def test_input(mb: BlockingKernelClient) -> None:
    answers = ["Ada", "42"]

    def hook(msg: dict[str, Any]) -> None:
        mb.input(answers.pop(0))

    r = run(mb, "n = input('Name? ')\nk = int(input())\nprint('Hi', n, k + 1)",
            timeout=60, stdin_hook=hook, allow_stdin=True)  # fmt: skip
    assert (r.status, r.stdout) == ("ok", "Hi Ada 43\n"), r.reply


def test_files_on_the_flat_filesystem(mb: BlockingKernelClient, tmp_path: Path) -> None:
    r = run(mb, "%%writefile hello.py\nprint('hi')\n")
    assert r.status == "ok", r.reply
    assert "print('hi')" in run(mb, "%cat hello.py").stdout
    src = tmp_path / "data.bin"
    src.write_bytes(bytes(range(256)) * 4)
    r = run(mb, f"%put {src} data.bin", timeout=120)
    assert r.status == "ok", r.reply
    r = run(mb, f"%get data.bin {tmp_path / 'back.bin'}", timeout=120)
    assert r.status == "ok", r.reply
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    listing = run(mb, "%ls -l").stdout
    assert "hello.py" in listing and "1024" in listing, listing
    r = run(mb, "%mkdir lessons")
    assert r.status == "error" and "no folders" in r.reply["evalue"]
    r = run(mb, "%df")
    assert r.status == "error" and "free space" in r.reply["evalue"], r.text
    assert "Traceback" not in r.text
    assert run(mb, "%rm data.bin").status == "ok"
    assert run(mb, "%rm hello.py").status == "ok"
    assert run(mb, "import os\nos.listdir()").result == "[]"


def test_panel_file_list(microbit_port: str, mb: BlockingKernelClient) -> None:
    from panel_client import PanelClient

    run(mb, "%%writefile listed.txt\nx\n")
    panel = PanelClient(mb)
    try:
        entries = {e["path"]: e for e in panel.ok("ls")["entries"]}
        assert "listed.txt" in entries, entries
        refused = panel.request("mkdir", path="lessons")
        assert not refused["ok"] and "no folders" in refused["error"], refused
    finally:
        panel.close()
    run(mb, "%rm listed.txt")


def test_completion_and_provenance(mb: BlockingKernelClient) -> None:
    reply = mb.complete("import mic", 10, reply=True, timeout=60)["content"]
    assert reply["status"] == "ok", reply
    (rec,) = records(run(mb, "%provenance"))
    assert rec["board"]["version"].startswith("1.9.2"), rec
    assert rec["port"]["kind"] == "serial"


def test_soft_reset(mb: BlockingKernelClient) -> None:
    run(mb, "kept = 1")
    r = run(mb, "%reset", timeout=60)
    assert r.status == "ok", r.reply
    assert run(mb, "'kept' in globals()").result == "False"
    assert run(mb, "print(4)").stdout == "4\n"


def test_a_long_cell_stopped_while_it_travels_leaves_no_staging_file(
    microbit: tuple[KernelManager, BlockingKernelClient], mb: BlockingKernelClient
) -> None:
    """The stop button while a long cell's pieces travel (or once it runs: either way) leaves
    no staging file among the user's files, and the board runs the next cell."""
    km, kc = microbit
    code = CELLS["lesson"](6 * 1024, 1)
    for delay in (0.3, 1.0, 2.0):  # early in the delivery, later, or once the cell runs
        timer = threading.Timer(delay, km.interrupt_kernel)
        timer.start()
        run(kc, code, timeout=120)
        timer.join()
        assert run(kc, "print(5)").stdout == "5\n"
        assert run(kc, "import os\nos.listdir()").result == "[]", delay


def test_a_cell_too_big_for_the_heap_gets_the_boards_memory_error(
    mb: BlockingKernelClient,
) -> None:
    """Last: compiling it fills the heap with names for good, as sending it plainly does."""
    code = "\n".join(f"v{i} = {i}" for i in range(300)) + "\nprint(v1)"
    r = run(mb, code, timeout=120)
    assert r.status == "error"
    assert r.reply["ename"] == "MemoryError", r.text
    said = re.search(r"the cell is (\d+) bytes", r.reply["evalue"])
    assert said and abs(int(said.group(1)) - len(code)) < 200, r.reply["evalue"]
    assert "losing bytes" not in r.text + r.reply["evalue"]
    assert run(mb, "print(3)").stdout == "3\n"
    assert run(mb, "import os\nos.listdir()").result == "[]"  # no staging file left


def test_a_lost_byte_is_resent_never_run(microbit_port: str, tmp_path: Path) -> None:
    """A UART that drops bytes in front of a micro:bit of its own (the module's board stays
    with its kernel): cells arrive intact, resent where bytes were lost, never run damaged."""
    stats = tmp_path / "dropped"
    km, kc = start_kernel()
    try:
        with qemu_microbit() as board, lossy(board, stats, every=96, stall=0.03) as port:
            r = run(kc, f"%connect {port}", timeout=300)
            assert r.status == "ok", r.reply
            for tag in range(3):
                text = "".join(f"{tag} line {i} of a text the lesson keeps. " for i in range(20))
                code = f"t = {text!r}\nprint(len(t), sum(map(ord, t)) % 9973)"
                r = run(kc, code, timeout=300)
                expect = f"{len(text)} {sum(map(ord, text)) % 9973}\n"
                assert (r.status, r.stdout) == ("ok", expect), r.reply
            assert int(stats.read_text()) > 0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
