"""Old, small firmware on a real old board: the BBC micro:bit's MicroPython 1.9.2 under
QEMU (tests/microbit.py: no raw-paste, no sys.stdin, a flat filesystem without os.stat,
~8 KB of free heap), through a real kernel (issue 25)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_interrupt_keeps_state, run, start_kernel
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from lossy_uart import lossy
from test_provenance import records

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def microbit(microbit_port: str) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    km, kc = start_kernel()
    try:
        r = run(kc, f"%connect {microbit_port}", timeout=120)
        assert r.status == "ok", r.text
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture
def mb(microbit: tuple[KernelManager, BlockingKernelClient]) -> BlockingKernelClient:
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


def code_cell(size: int, tag: int) -> str:
    """About `size` bytes of real code: small functions, each called."""
    parts = []
    for i in range(size // 68):
        parts.append(f"def h{i}(x):\n    y = x * {i} + {tag}\n    return y if y >= 0 else -y\n")
    calls = "+".join(f"h{i}(1)" for i in range(size // 68))
    parts.append(f"print('r', {calls})\n")
    parts.append(f"for i in range({size // 68}):\n    del globals()['h%d' % i]\n")
    return "".join(parts)


def expected(kind: str, size: int, tag: int) -> str:
    if kind == "comments":
        return f"c {42 + tag}\n"
    if kind == "docstring":
        return f"d {1 + tag}\n"
    n = size // 68
    return f"r {sum(abs(i + tag) for i in range(n))}\n"


CELLS = {"comments": comments_cell, "docstring": docstring_cell, "code": code_cell}


def test_it_is_the_real_old_firmware(mb: BlockingKernelClient) -> None:
    r = run(mb, "import sys\nprint(sys.implementation.version, hasattr(sys, 'stdin'))")
    assert r.stdout == "(1, 9, 2) False\n", r.text


def test_long_cells_20_in_a_row(mb: BlockingKernelClient) -> None:
    """Cells of 1, 2, 4 and 6 KB (comments, docstrings, real code), 20 in a row: each runs
    intact, or (heap too small or too fragmented for it) gets the board's own MemoryError
    with the cell's size; never corrupted code, never a false "losing bytes"."""
    plan = [(kind, kb) for kb in (1, 2, 4, 6) for kind in CELLS]
    plan += [("comments", 1), ("code", 2), ("docstring", 4), ("comments", 6), ("code", 1)]
    plan += [("docstring", 2), ("comments", 4), ("code", 6)]
    assert len(plan) == 20
    ran: list[int] = []
    for tag, (kind, kb) in enumerate(plan):
        size = kb * 1024
        code = CELLS[kind](size, tag)
        assert abs(len(code) - size) < 200, (kind, kb, len(code))
        r = run(mb, code, timeout=120)
        if r.status == "ok":
            ran.append(kb)
            assert r.stdout == expected(kind, size, tag), (kind, kb, r.text)
        else:
            assert r.reply["ename"] == "MemoryError", (kind, kb, r.text)
            assert "the cell is " in r.reply["evalue"], r.reply["evalue"]
        assert "losing bytes" not in r.text
    assert run(mb, "import os\nos.listdir()").result == "[]"  # no staging file left
    assert 1 in ran, ran


def test_a_cell_too_big_for_the_heap_gets_the_boards_memory_error(
    mb: BlockingKernelClient,
) -> None:
    code = "\n".join(f"v{i} = {i}" for i in range(300)) + "\nprint(v1)"
    r = run(mb, code, timeout=120)
    assert r.status == "error"
    assert r.reply["ename"] == "MemoryError", r.text
    said = re.search(r"the cell is (\d+) bytes", r.reply["evalue"])
    assert said and abs(int(said.group(1)) - len(code)) < 200, r.reply["evalue"]
    assert "losing bytes" not in r.text + r.reply["evalue"]
    assert run(mb, "print(3)").stdout == "3\n"


def test_output_of_any_length(mb: BlockingKernelClient) -> None:
    r = run(mb, "for i in range(1500):\n    print('line', i, 'of output')", timeout=120)
    lines = r.stdout.splitlines()
    assert r.status == "ok" and len(lines) == 1500, r.text[-200:]
    assert lines[0] == "line 0 of output" and lines[-1] == "line 1499 of output"


def test_stop_button(microbit: tuple[KernelManager, BlockingKernelClient]) -> None:
    km, kc = microbit
    assert_interrupt_keeps_state(km, kc, within=15)


def test_input(mb: BlockingKernelClient) -> None:
    answers = ["Ada", "42"]

    def hook(msg: dict[str, Any]) -> None:
        mb.input(answers.pop(0))

    r = run(mb, "n = input('Name? ')\nk = int(input())\nprint('Hi', n, k + 1)",
            timeout=60, stdin_hook=hook, allow_stdin=True)  # fmt: skip
    assert (r.status, r.stdout) == ("ok", "Hi Ada 43\n"), r.text


def test_files_on_the_flat_filesystem(mb: BlockingKernelClient, tmp_path: Path) -> None:
    assert run(mb, "%%writefile hello.py\nprint('hi')\n").status == "ok"
    assert "print('hi')" in run(mb, "%cat hello.py").stdout
    src = tmp_path / "data.bin"
    src.write_bytes(bytes(range(256)) * 4)
    r = run(mb, f"%put {src} data.bin", timeout=120)
    assert r.status == "ok", r.text
    r = run(mb, f"%get data.bin {tmp_path / 'back.bin'}", timeout=120)
    assert r.status == "ok", r.text
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
    assert r.status == "ok", r.text
    assert run(mb, "'kept' in globals()").result == "False"
    assert run(mb, "print(4)").stdout == "4\n"


def test_a_lost_byte_is_resent_never_run(microbit_port: str, tmp_path: Path) -> None:
    """A UART that drops bytes in front of the micro:bit: long cells arrive intact."""
    stats = tmp_path / "dropped"
    km, kc = start_kernel()
    try:
        with lossy(microbit_port, stats, every=96, stall=0.03) as port:
            r = run(kc, f"%connect {port}", timeout=300)
            assert r.status == "ok", r.text
            for tag in range(3):
                code = comments_cell(2048, tag)
                r = run(kc, code, timeout=300)
                assert (r.status, r.stdout) == ("ok", expected("comments", 2048, tag)), r.text
            assert int(stats.read_text()) > 0
            run(kc, "%disconnect")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
