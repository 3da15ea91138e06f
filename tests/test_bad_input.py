"""Bad input gets one clear line, and the kernel stays alive and usable."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import serial
from conftest import run, start_kernel

from mpkernel.board import session, stream_files
from mpkernel.board.filesystem import BoardFiles
from mpkernel.board.session import Board
from mpkernel.board.virtual.board import VirtualBoard
from mpkernel.errors import BoardError


def one_line_error(r, *needles: str) -> None:
    assert r.status == "error", r.text
    err = r.error
    assert err is not None
    assert len(err["traceback"]) == 1, err["traceback"]
    assert "Traceback" not in err["traceback"][0]
    for needle in needles:
        assert needle in err["evalue"], err["evalue"]


def test_missing_port(fresh_kernel) -> None:
    _, kc = fresh_kernel
    one_line_error(run(kc, "%connect /dev/ttyUSB_nothing_here"), "No serial port", "%ports")
    assert run(kc, "%connect virtual").status == "ok"


def test_busy_port(fresh_kernel, virtual_board: VirtualBoard) -> None:
    _, kc = fresh_kernel
    holder = serial.Serial(virtual_board.port, exclusive=True)
    try:
        one_line_error(run(kc, f"%connect {virtual_board.port}"), "busy", "another program")
    finally:
        holder.close()
    assert run(kc, f"%connect {virtual_board.port}").status == "ok"


def test_nothing_answers_like_micropython(fresh_kernel) -> None:
    _, kc = fresh_kernel
    master, slave = os.openpty()
    try:
        start = time.monotonic()
        r = run(kc, f"%connect {os.ttyname(slave)}")
        one_line_error(r, "did not answer like MicroPython", "baud")
        assert time.monotonic() - start < 15
    finally:
        os.close(master)
        os.close(slave)


def test_cell_while_not_connected(fresh_kernel) -> None:
    _, kc = fresh_kernel
    assert run(kc, "%connect virtual").status == "ok"
    assert "Disconnected" in run(kc, "%disconnect").stdout
    one_line_error(run(kc, "1 + 1"), "Not connected", "%connect")
    assert run(kc, "%connect virtual").status == "ok"
    assert run(kc, "1 + 1").result == "2"


@pytest.mark.parametrize("between_cells", [False, True], ids=["mid_cell", "between_cells"])
def test_board_vanishes(fresh_kernel, tmp_path: Path, between_cells: bool) -> None:
    _, kc = fresh_kernel
    vb = VirtualBoard(root=tmp_path)
    assert run(kc, f"%connect {vb.port}").status == "ok"
    if between_cells:
        vb.stop()  # unplugged while no cell runs: the next cell says so
        one_line_error(run(kc, "print(2)"), "stopped answering", "%connect")
    else:
        threading.Timer(0.5, vb.stop).start()
        r = run(kc, "while True:\n    pass", timeout=20)
        one_line_error(r, "stopped answering", "%connect")
    one_line_error(run(kc, "1"), "Not connected")
    assert run(kc, "%connect virtual").status == "ok"
    assert run(kc, "2 * 2").result == "4"
    assert run(kc, "print(2)").stdout == "2\n"


def test_sys_exit_in_a_cell(kc) -> None:
    run(kc, "before_exit = 1")
    r = run(kc, "import sys\nprint('leaving')\nsys.exit()")
    assert "leaving" in r.stdout
    one_line_error(r, "reset during this cell")
    assert r.reply["ename"] == "BoardReset"
    assert run(kc, "'before_exit' in globals()").result == "False"
    assert run(kc, "3").result == "3"


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_ten_megabytes_of_output_is_truncated_with_notice() -> None:
    km, kc = start_kernel({"MPKERNEL_MAX_OUTPUT": "200000"})
    try:
        assert run(kc, "%connect virtual").status == "ok"
        pid = km.provisioner.pid  # type: ignore[union-attr]
        before = _rss_kb(pid)
        code = "line = 'x' * 99\nfor i in range(100000):\n    print(line)"
        r = run(kc, code, timeout=300)
        assert r.status == "ok"
        assert len(r.stdout) == 200_000
        assert "output truncated after 200,000 characters" in r.stderr
        assert "9,800,000 more were not shown" in r.stderr
        assert _rss_kb(pid) - before < 50_000  # the kernel did not keep the 10 MB
        assert run(kc, "'ok'").result == "'ok'"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_mpkernel_port_connects_at_start(virtual_board: VirtualBoard) -> None:
    board = Board.open(virtual_board.port)
    board.exec_capture("left_by_someone = 'hello'")
    board.close()
    km, kc = start_kernel({"MPKERNEL_PORT": virtual_board.port})
    try:
        assert run(kc, "left_by_someone").result == "'hello'"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_mpkernel_port_that_fails_is_reported_at_the_first_cell() -> None:
    km, kc = start_kernel({"MPKERNEL_PORT": "/dev/ttyUSB_not_there"})
    try:
        one_line_error(
            run(kc, "1"), "Connecting at start failed", "MPKERNEL_PORT=", "No serial port"
        )
        assert run(kc, "%connect virtual").status == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_first_cell_without_a_board_uses_the_virtual_board(fresh_kernel) -> None:
    _, kc = fresh_kernel
    r = run(kc, "6 * 7")
    assert r.result == "42"
    assert "virtual board" in r.stdout


def test_connect_alone_picks_the_virtual_board(fresh_kernel) -> None:
    _, kc = fresh_kernel
    r = run(kc, "%connect")
    assert r.status == "ok"
    assert "No board found" in r.stdout and "virtual board" in r.stdout


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry))
    return kids


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_kernel_leaves_no_virtual_board_behind() -> None:
    km, kc = start_kernel()
    assert run(kc, "%connect virtual").status == "ok"
    pid = km.provisioner.pid  # type: ignore[union-attr]
    relays = _children(pid)
    boards = [c for r in relays for c in _children(r)]
    assert relays and boards
    kc.stop_channels()
    os.kill(pid, signal.SIGKILL)  # a crash: no shutdown request, no cleanup code runs
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in relays + boards):
        time.sleep(0.05)
    assert not any(_alive(p) for p in relays + boards)
    km.shutdown_kernel(now=True)


@pytest.mark.parametrize("between_cells", [False, True], ids=["mid_cell", "between_cells"])
def test_board_resets(fresh_kernel, tmp_path: Path, between_cells: bool) -> None:
    _, kc = fresh_kernel
    vb = VirtualBoard(root=tmp_path)
    try:
        assert run(kc, f"%connect {vb.port}").status == "ok"
        run(kc, "lost = 1\nopen('main.py', 'w').write(\"open('booted', 'w').write('1')\")")
        if between_cells:
            vb.press_reset()  # someone presses the reset button while no cell runs
            _wait_for((tmp_path / "booted").exists, "main.py to run after the reset")
            r = run(kc, "print(2)")
            one_line_error(r, "reset since the last cell", "did not run", "Run it again")
        else:
            threading.Timer(0.5, vb.press_reset).start()  # ... or while one runs
            r = run(kc, "while True:\n    pass", timeout=20)
            one_line_error(r, "reset during this cell")
        assert r.reply["ename"] == "BoardReset"
        assert run(kc, "print(2)").stdout == "2\n"
        assert run(kc, "'lost' in globals()").result == "False"
    finally:
        vb.stop()


def _wait_for(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.timing
def test_board_that_ignores_ctrl_c(fresh_kernel) -> None:
    km, kc = fresh_kernel
    assert run(kc, "%connect virtual").status == "ok"
    stubborn = (
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except KeyboardInterrupt:\n        pass"
    )
    threading.Timer(0.5, km.interrupt_kernel).start()
    start = time.monotonic()
    r = run(kc, stubborn, timeout=30)
    one_line_error(r, "did not stop after Ctrl-C", "%reset --hard")
    assert time.monotonic() - start < 10
    assert run(kc, "%reset --hard").status == "ok"
    assert run(kc, "1 + 1").result == "2"


def test_usage_errors_and_failed_operations_are_named_apart(fresh_kernel) -> None:
    _, kc = fresh_kernel
    assert run(kc, "%connect virtual").status == "ok"
    wrong = run(kc, "%ls --no-such-option")
    one_line_error(wrong, "Usage")
    assert wrong.error["ename"] == "UsageError"
    failed = run(kc, "%rm no_such_file.txt")
    one_line_error(failed, "no such file")
    assert failed.error["ename"] == "FileError"
    gone = run(kc, "%connect /dev/ttyUSB_nothing_here")
    assert gone.error["ename"] == "BoardError"


def test_failed_connect_keeps_the_board_that_worked(
    fresh_kernel, virtual_board: VirtualBoard
) -> None:
    _, kc = fresh_kernel
    assert run(kc, "%connect virtual").status == "ok"
    run(kc, "kept = 41")
    one_line_error(run(kc, "%connect /dev/ttyUSB9"), "No serial port")
    assert run(kc, "kept + 1").result == "42"  # same board, same variables
    assert run(kc, "print(2)").stdout == "2\n"
    assert run(kc, f"%connect {virtual_board.port}").status == "ok"  # switching still works
    assert run(kc, "'kept' in globals()").result == "False"
    assert run(kc, f"%connect {virtual_board.port}").status == "ok"  # and reconnecting to it
    assert run(kc, "print(2)").stdout == "2\n"


def test_interrupted_put_says_keyboard_interrupt(fresh_kernel, tmp_path: Path) -> None:
    km, kc = fresh_kernel
    (tmp_path / "old.bin").write_bytes(b"old contents")
    (tmp_path / "big.bin").write_bytes(os.urandom(3_000_000))
    assert run(kc, "%connect virtual").status == "ok"
    assert run(kc, f"%put {tmp_path / 'old.bin'} target.bin").status == "ok"
    pressed: list[str] = []

    def press_stop_once_under_way(msg: dict) -> None:
        if msg["msg_type"] == "update_display_data" and not pressed:
            pressed.append(msg["content"]["data"]["text/plain"])
            km.interrupt_kernel()

    reply = kc.execute_interactive(
        f"%put {tmp_path / 'big.bin'} target.bin",
        output_hook=press_stop_once_under_way,
        timeout=120,
    )["content"]
    assert pressed and "2.9 MB" in pressed[0]  # the press came while the copy ran
    assert reply["status"] == "error"
    assert (reply["ename"], reply["evalue"]) == ("KeyboardInterrupt", "Interrupted."), reply
    assert len(reply["traceback"]) == 1
    r = run(kc, "import os\nprint(open('target.bin').read(), os.listdir())")
    assert r.stdout.startswith("old contents ['target.bin']"), r.text  # old file intact
    assert run(kc, "print(2)").stdout == "2\n"


def test_host_path_too_long_is_one_line(fresh_kernel, tmp_path: Path) -> None:
    _, kc = fresh_kernel
    assert run(kc, "%connect virtual").status == "ok"
    assert run(kc, "open('there.txt', 'w').write('hi')").status == "ok"
    long = str(tmp_path / ("n" * 300))  # one name over the host's 255 bytes
    for cell in (
        f"%put {long}",
        f"%put -r {long} lib",
        f"%get there.txt {long}",
        f"%backup {long}.bin",
        f"%restore {long}.bin",
        f"%sync {long}",
    ):
        r = run(kc, cell, timeout=60)
        one_line_error(r, "name too long", "use a shorter one", "nnnn")
        assert r.error["ename"] == "UsageError", cell
        assert run(kc, "print(2)").stdout == "2\n"


def test_board_process_killed_between_cells(fresh_kernel) -> None:
    km, kc = fresh_kernel
    assert run(kc, "%connect virtual").status == "ok"
    run(kc, "lost = 1")
    relays = _children(km.provisioner.pid)  # type: ignore[union-attr]
    (board,) = [c for r in relays for c in _children(r)]
    os.kill(board, signal.SIGKILL)  # MicroPython dies; its relay starts it again
    _wait_for(lambda: [c for r in relays for c in _children(r) if c != board], "a new board")
    r = run(kc, "print(2)")
    one_line_error(r, "reset since the last cell", "Run it again")
    assert run(kc, "print(2)").stdout == "2\n"
    assert run(kc, "'lost' in globals()").result == "False"


#: The helpers' silence bound in these tests (30 s in use), so that they wait less.
QUICK_SILENCE = 3.0


@pytest.fixture
def quick_silence(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(session, "HELPER_SILENCE", QUICK_SILENCE)
    monkeypatch.setattr(stream_files, "HELPER_SILENCE", QUICK_SILENCE)
    return QUICK_SILENCE


def _board_process(board: Board) -> int:
    """The MicroPython process behind a virtual board opened here (its relay's child)."""
    relay = board.transport.virtual._proc.pid  # type: ignore[attr-defined]
    for child in _children(relay):  # forked from the relay: its only child
        return child
    raise AssertionError("no board process")


def _one_line_board_error(call, bound: float) -> str:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    with pytest.raises(BoardError) as caught:
        call()
    assert time.monotonic() - start < bound, time.monotonic() - start
    line = str(caught.value)
    assert "\n" not in line and "Traceback" not in line, line
    return line


def test_a_board_that_hangs_mid_helper_is_one_line(tmp_path: Path, quick_silence: float) -> None:
    """A board that takes a helper command (here the hash's, stuck opening a FIFO) and then
    says nothing more: one line after the helpers' silence bound, never a wait forever."""
    os.mkfifo(tmp_path / "stuck")
    board = Board.open("virtual", root=tmp_path)
    try:
        files = BoardFiles(board)
        line = _one_line_board_error(lambda: files.sha256("stuck"), quick_silence + 10)
        assert "stopped answering" in line and "%reset --hard" in line, line
        assert not board.repl.in_raw  # what the board sends later is never taken as an answer
    finally:
        board.close(leave=False)


@pytest.mark.parametrize("op", ["get", "put", "ls"])
def test_a_board_stopped_mid_helper_is_one_line(
    tmp_path: Path, quick_silence: float, op: str
) -> None:
    """A board stopped (SIGSTOP: it takes and sends nothing more, as a board whose chip
    hangs behind a live USB adapter) while a helper runs: one line, in bounded time."""
    (tmp_path / "big.bin").write_bytes(os.urandom(200_000))
    board = Board.open("virtual", root=tmp_path)
    child = _board_process(board)
    files = BoardFiles(board)

    def stop(*_: object) -> None:
        os.kill(child, signal.SIGSTOP)

    calls = {
        "get": lambda: files.get("big.bin", progress=stop),
        "put": lambda: files.put(os.urandom(200_000), "new.bin", progress=stop),
        "ls": lambda: (stop(), files.ls("/")),
    }
    try:
        # Each wait of a transfer has its deadline (10 s per frame), the end the silence bound.
        line = _one_line_board_error(calls[op], quick_silence + 30)
        assert "stopped answering" in line and "%reset --hard" in line, line
    finally:
        os.kill(child, signal.SIGKILL)
        board.close(leave=False)
