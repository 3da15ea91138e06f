"""The raw-REPL engine against a real MicroPython on a PTY (the virtual board)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_raw as run

from mpkernel.board.links.serial_transport import SerialTransport
from mpkernel.board.repl.rawrepl import SMALL_CODE, RawRepl, ReplError
from mpkernel.board.session import Board
from mpkernel.board.virtual.board import VirtualBoard


def test_small_code_goes_in_one_write_and_larger_code_by_raw_paste(repl: RawRepl) -> None:
    out, result = run(repl, "print(6 * 7)")
    assert (out, result.error) == (b"42\n", "")
    assert repl.raw_paste is None  # short code needs no raw-paste handshake
    code = "# " + "x" * SMALL_CODE + "\nprint(6 * 7)"
    out, result = run(repl, code)
    assert (out, result.error) == (b"42\n", "")
    assert repl.raw_paste is True


def test_large_code_goes_through_flow_control(repl: RawRepl) -> None:
    # Far more than one 128-byte window: the board must grant windows as it reads.
    lines = [f"v{i} = {i} * 3" for i in range(2000)]
    code = "\n".join(lines) + "\nprint(v1999, len(globals()) > 1999)"
    assert len(code) > 20_000
    out, result = run(repl, code)
    assert out == b"5997 True\n"
    assert result.error == ""


def test_error_part_holds_the_traceback(repl: RawRepl) -> None:
    out, result = run(repl, "print('before')\nraise ValueError('bad value')")
    assert out == b"before\n"
    assert "ValueError: bad value" in result.error
    assert "line 2" in result.error


def test_syntax_error_is_reported_by_the_board(repl: RawRepl) -> None:
    _, result = run(repl, "def (:")
    assert "SyntaxError" in result.error
    out, result = run(repl, "print('still fine')")
    assert out == b"still fine\n"


def test_non_utf8_and_control_bytes_do_not_break_the_engine(repl: RawRepl) -> None:
    out, result = run(repl, "import sys\nsys.stdout.write(b'\\xff\\xfe\\x80abc')\nprint()")
    assert out.startswith(b"\xff\xfe\x80abc")
    assert result.error == ""
    out, _ = run(repl, "print(1)")
    assert out == b"1\n"


#: A busy loop that ends by itself after 30 s: a stop that never arrives fails the test
#: instead of hanging it.
BUSY_LOOP = (
    "import time\nt = time.ticks_ms()\nwhile time.ticks_diff(time.ticks_ms(), t) < 30000:\n    pass"
)


@contextlib.contextmanager
def sigint_is_keyboard_interrupt() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt here, as ipykernel makes it while a cell runs. A process
    started in the background without job control (a CI job) inherits SIGINT ignored, and
    Python then installs no handler: the stop would be lost and the run go on."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.timing
def test_interrupt_stops_a_busy_loop(repl: RawRepl) -> None:
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    with sigint_is_keyboard_interrupt():
        timer.start()
        out, result = run(repl, BUSY_LOOP)
    elapsed = time.monotonic() - start
    assert result.interrupted, f"not stopped: the loop ran to its end ({elapsed:.1f} s)"
    assert "KeyboardInterrupt" in result.error
    assert elapsed < 1.3
    assert b"^C" not in out
    out, result = run(repl, "print('next')")
    assert out == b"next\n"


def test_interrupt_works_where_sigint_was_ignored_at_start() -> None:
    """The busy-loop test in a pytest started with SIGINT ignored (as `cmd &` in a script,
    how a CI job may run): it must pass, not hang until pytest's timeout."""
    test = f"{__file__}::test_interrupt_stops_a_busy_loop"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout", "60", test],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]


def test_soft_reset_clears_state_and_runs_boot_py(virtual_board: VirtualBoard) -> None:
    (virtual_board.root / "boot.py").write_text("print('boot.py here')\nbooted = True\n")
    transport = SerialTransport(virtual_board.port)
    r = RawRepl(transport)
    r.enter()
    run(r, "x = 1")
    boot = r.soft_reset()
    assert b"boot.py here" in boot
    out, _result = run(r, "print('x' in globals(), booted)")
    assert out == b"False True\n"
    transport.close()


def test_sys_exit_is_seen_as_a_reset(repl: RawRepl) -> None:
    run(repl, "y = 2")
    out, result = run(repl, "import sys\nprint('bye')\nsys.exit()")
    assert out == b"bye\n"
    assert result.reset
    out, result = run(repl, "print('y' in globals())")
    assert out == b"False\n"


def test_connecting_does_not_reset_the_board(virtual_board: VirtualBoard) -> None:
    first = Board.open(virtual_board.port)
    first.exec_capture("kept = 'still here'")
    first.close()
    second = Board.open(virtual_board.port)
    assert second.eval_literal("kept") == "still here"
    assert second.notices == []
    second.close()


@pytest.mark.timing
def test_a_busy_main_py_is_interrupted_once_with_a_notice(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import time\nwhile True:\n    time.sleep(0.01)\n")
    with VirtualBoard(root=tmp_path) as vb:
        board = Board.open(vb.port)
        assert any("program was running" in n for n in board.notices)
        assert board.eval_literal("1 + 1") == 2
        board.close()


def test_old_firmware_without_raw_paste_falls_back(tmp_path: Path) -> None:
    with VirtualBoard(root=tmp_path, legacy=True) as vb:
        transport = SerialTransport(vb.port)
        r = RawRepl(transport)
        r.enter()
        code = "\n".join(f"w{i} = {i}" for i in range(300)) + "\nprint(w299)"
        out, result = run(r, code)
        assert r.raw_paste is False
        assert (out, result.error) == (b"299\n", "")
        out, result = run(r, "print('again')")
        assert (out, result.error) == (b"again\n", "")
        transport.close()


def test_nothing_answering_gives_a_clear_error() -> None:
    master, slave = os.openpty()
    try:
        transport = SerialTransport(os.ttyname(slave))
        with pytest.raises(ReplError, match="did not answer like MicroPython"):
            RawRepl(transport).enter(timeout=0.5)
        transport.close()
    finally:
        os.close(master)
        os.close(slave)
