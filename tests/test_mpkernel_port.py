"""MPKERNEL_PORT names the board: %connect, the kernel's start and the first cell use it, a
board that does not answer fails the cell (and a headless run), and the virtual board is
used only when nothing asked for a real board, saying so."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run, start_kernel
from test_bad_input import one_line_error

from mpkernel.board.session import Board
from mpkernel.board.virtual.board import VirtualBoard

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
MISSING = "/dev/ttyNONEXISTENT"


@pytest.fixture
def kernel_env(request: pytest.FixtureRequest) -> Iterator:
    """A kernel started with the environment given by the test's parameter."""
    km, kc = start_kernel(request.param)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def _mark(board: VirtualBoard) -> None:
    """Leave a variable on a board, to tell it from any other board afterwards."""
    b = Board.open(board.port)
    b.exec_capture("left_here = 'the board MPKERNEL_PORT names'")
    b.close()


def test_connect_without_port_uses_mpkernel_port(virtual_board: VirtualBoard) -> None:
    _mark(virtual_board)
    km, kc = start_kernel({"MPKERNEL_PORT": virtual_board.port})
    try:
        r = run(kc, "%connect")
        assert r.status == "ok", r.text
        assert f"via {virtual_board.port}" in r.stdout
        assert "virtual board" not in r.stdout
        assert run(kc, "left_here").result == "'the board MPKERNEL_PORT names'"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("kernel_env", [{"MPKERNEL_PORT": MISSING}], indirect=True)
def test_missing_mpkernel_port_fails_every_way_to_connect(kernel_env) -> None:
    kc = kernel_env
    assert run(kc, "%ports").status == "ok"  # needs no board
    for code in ("%connect", "6 * 7", "%ls"):
        r = run(kc, code)
        one_line_error(r, f"MPKERNEL_PORT={MISSING}")
        assert r.result is None and "virtual board (MicroPython" not in r.text
    assert "No serial port" in run(kc, "%connect").error["evalue"]
    # Asked for by name, the virtual board is still there.
    r = run(kc, "%connect virtual")
    assert r.status == "ok" and "via the virtual board" in r.stdout


def test_port_that_does_not_answer_fails() -> None:
    """A port that exists, with nothing behind it that speaks MicroPython."""
    master, slave = os.openpty()
    name = os.ttyname(slave)
    km, kc = start_kernel({"MPKERNEL_PORT": name})
    try:
        one_line_error(run(kc, "1 + 1", timeout=60), f"MPKERNEL_PORT={name}", "did not answer")
        r = run(kc, "%connect", timeout=60)
        one_line_error(r, f"MPKERNEL_PORT={name}", "did not answer")
        assert r.result is None
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("kernel_env", [{"MPKERNEL_PORT": "virtual"}], indirect=True)
def test_mpkernel_port_virtual_says_so(kernel_env) -> None:
    r = run(kernel_env, "6 * 7")
    assert r.result == "42"
    assert "via the virtual board" in r.stdout
    r = run(kernel_env, "%connect")
    assert r.status == "ok"
    assert "MPKERNEL_PORT=virtual: using the virtual board" in r.stdout


def test_headless_run_for_a_missing_board_fails(tmp_path: Path) -> None:
    target = tmp_path / "00.ipynb"
    target.write_bytes((NOTEBOOKS / "00-hello-board.ipynb").read_bytes())
    env = {**os.environ, "MPKERNEL_PORT": MISSING}
    r = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--inplace", str(target)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode != 0
    assert f"MPKERNEL_PORT={MISSING}" in r.stderr and "No serial port" in r.stderr
    assert "Hello from linux" not in target.read_text()  # nor run on the virtual board
