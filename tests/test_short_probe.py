"""A cell that prints pays 6 bytes for its end, not the 27 of the raw banner: the probe
queued behind its code is a run of nothing (`OK\\x04\\x04>`), which ends the run by itself
when the output left no room for doubt; a 0x04 printed before the end is confirmed by a
Ctrl-A whose banner must follow (issue 28). Against a real MicroPython on a PTY."""

from __future__ import annotations

import time

import pytest
from conftest import WireLog
from conftest import run_raw as run

from mpkernel.board.repl import run_end
from mpkernel.board.repl.rawrepl import RAW_BANNER, RawRepl
from mpkernel.board.repl.run_end import PROBE_ANSWER, SHORT_ANSWER, SHORT_PROBE, RunEnd
from mpkernel.board.session import Board
from mpkernel.board.virtual.board import VirtualBoard


def test_a_cell_that_prints_ends_on_the_short_answer(repl: RawRepl) -> None:
    transport = repl.transport
    assert isinstance(transport, WireLog)
    for code, printed in (("print(6 * 7)", b"42\n"), ("print('a' * 300)", b"a" * 300 + b"\n")):
        transport.sent.clear()
        transport.received.clear()
        out, result = run(repl, code)
        assert (out, result.error) == (printed, "")
        assert transport.sent.endswith(b"\x04" + SHORT_PROBE)  # no Ctrl-A
        assert transport.received.endswith(b"\x04\x04>" + SHORT_ANSWER)
        assert RAW_BANNER not in transport.received


def test_an_error_ends_on_the_short_answer(repl: RawRepl) -> None:
    transport = repl.transport
    assert isinstance(transport, WireLog)
    transport.received.clear()
    out, result = run(repl, "print('x')\nraise ValueError('v')")
    assert out == b"x\n"
    assert "ValueError: v" in result.error
    assert RAW_BANNER not in transport.received
    out, result = run(repl, "print(2)")
    assert (out, result.error) == (b"2\n", "")


@pytest.mark.parametrize(
    "code",
    [
        # The short answer itself, printed after a 0x04: the output left room for doubt.
        "import sys, time\nsys.stdout.write('a\\x04b\\x04\\x04>OK\\x04\\x04>')\n"
        "time.sleep(0.4)\nprint('more')",
        # The raw banner right after an end: no Ctrl-A was sent, so it answers nothing.
        "import sys, time\nsys.stdout.write('\\x04\\x04>raw REPL; CTRL-B to exit\\r\\n>')\n"
        "time.sleep(0.4)\nprint('more')",
        # A 0x04 first, then the short answer and the banner after an end: confirmed.
        "import sys, time\nsys.stdout.write('\\x04\\x04>')\ntime.sleep(0.2)\n"
        "sys.stdout.write('\\x04\\x04>OK\\x04\\x04>')\ntime.sleep(0.4)\nprint('more')",
    ],
)
def test_output_holding_the_short_answer_ends_where_it_ends(repl: RawRepl, code: str) -> None:
    out, result = run(repl, code)
    assert result.error == ""
    assert out.endswith(b"more\n") and out.count(b"more") == 1, out
    out, result = run(repl, "print(3)")
    assert (out, result.error) == (b"3\n", "")


def feed_all(ends: RunEnd, *pieces: bytes) -> bool:
    done = False
    for piece in pieces:
        done = ends.feed(piece)
    return done


def test_short_answer_without_doubt_ends_at_once() -> None:
    probes: list[bytes] = []
    out: list[bytes] = []
    ends = RunEnd(out.append, None, probes.append, probed=True, short=True)
    assert not ends.feed(b"hi\r\n\x04\x04>OK\x04")  # cut short: wait for the rest
    assert ends.feed(b"\x04>")
    ends.flush()
    assert (b"".join(out), ends.after, probes, ends.probes_pending) == (b"hi\r\n", b">", [], 0)


def test_a_thread_printing_before_the_short_answer_keeps_its_output() -> None:
    out: list[bytes] = []
    ends = RunEnd(out.append, None, lambda _: None, probed=True, short=True)
    assert ends.feed(b"1\r\n\x04\x04>tick\r\nOK\x04\x04>")
    ends.flush()
    assert (b"".join(out), ends.after) == (b"1\r\n", b">tick\r\n")


def test_a_printed_eot_is_confirmed_by_the_banner() -> None:
    probes: list[bytes] = []
    out: list[bytes] = []
    ends = RunEnd(out.append, None, probes.append, probed=True, short=True)
    assert not ends.feed(b"a\x04b\r\n\x04\x04>" + SHORT_ANSWER)
    assert probes == [b"\x01"]  # a Ctrl-A: the banner must follow the short answer
    assert not ends.feed(b"more")  # it did not: the program printed that, and goes on
    assert not ends.feed(b"\r\n\x04\x04>" + SHORT_ANSWER + PROBE_ANSWER[:5])
    assert ends.feed(PROBE_ANSWER[5:])
    ends.flush()
    shown = b"".join(out)
    assert shown == b"a\x04b\r\n\x04\x04>" + SHORT_ANSWER + b"more\r\n", shown
    assert (probes, ends.probes_pending) == ([b"\x01"], 0)


def test_output_after_a_printed_eot_pair_shows_while_the_program_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`\x04\x04` then bytes with no reboot notice may be a sys.exit() whose atexit
    callbacks print; once quiet for AT_EXIT_WAIT they are the program's, shown while it runs
    on (the fuzz found a cell whose output stopped there until the stop button)."""
    monkeypatch.setattr(run_end, "AT_EXIT_WAIT", 0.05)
    out: list[bytes] = []
    ends = RunEnd(out.append, None, lambda _: None, probed=True, short=True)
    assert not ends.feed(b"a\x04\x04b<end>\r\n")
    ends.idle()
    ends.flush()
    assert out == [b"a"]  # held: a soft reset's notice may follow
    deadline = time.monotonic() + 10
    while len(out) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
        ends.idle()
        ends.flush()
    assert b"".join(out) == b"a\x04\x04b<end>\r\n"
    tb = b"Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n"
    assert not ends.feed(b"\x04" + tb + b"\x04>" + SHORT_ANSWER)  # a 0x04 passed: confirm
    assert ends.feed(PROBE_ANSWER)
    assert ends.error == tb


@pytest.mark.parametrize(
    "imitation",
    # (an answered end, 0x04 before it: a confirming banner must follow; see the README)
    [b"\x04\x04>", b"\x04\x04\x04>OK\x04\x04>", b"\x04\x04>raw REPL; CTRL-B to exit\r\n>"],
)
def test_output_after_a_printed_end_shows_once_no_answer_follows(
    monkeypatch: pytest.MonkeyPatch, imitation: bytes
) -> None:
    """A program printing an end (and even its answer) then more, then running on: after a
    real end the probe's answer comes at once, so once quiet for END_ANSWER_WAIT the bytes
    are shown (the fuzz through CI's kernel found such a cell, whose `<end>` never showed)."""
    monkeypatch.setattr(run_end, "END_ANSWER_WAIT", 0.05)
    out: list[bytes] = []
    ends = RunEnd(out.append, None, lambda _: None, probed=True, short=True)
    assert not ends.feed(b"0 0\r\n" + imitation + b"<end>\r\n")
    ends.flush()
    shown = b"".join(out)  # the imitation held: a thread's output after an end looks so
    assert shown.startswith(b"0 0\r\n") and b"<end>" not in shown, shown
    deadline = time.monotonic() + 10
    while b"<end>" not in b"".join(out) and time.monotonic() < deadline:
        time.sleep(0.02)
        ends.idle()
        ends.flush()
    assert b"".join(out) == b"0 0\r\n" + imitation + b"<end>\r\n"


def test_a_real_end_with_a_threads_output_still_ends_on_its_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a real end the probe's answer comes at once, a thread's line perhaps before it:
    within END_ANSWER_WAIT that line does not make the end the program's output."""
    monkeypatch.setattr(run_end, "END_ANSWER_WAIT", 3600.0)
    out: list[bytes] = []
    ends = RunEnd(out.append, None, lambda _: None, probed=True, short=True)
    assert not ends.feed(b"1\r\n\x04\x04>tick\r\nOK")  # the answer is on its way
    ends.idle()
    ends.flush()
    assert b"".join(out) == b"1\r\n"
    assert ends.feed(b"\x04\x04>")
    ends.flush()
    assert (b"".join(out), ends.after) == (b"1\r\n", b">tick\r\n")


def test_a_soft_reset_after_atexit_output_is_still_a_reset() -> None:
    out: list[bytes] = []
    ends = RunEnd(out.append, None, lambda _: None, probed=True, short=True)
    assert not ends.feed(b"bye\r\n\x04\x04atexit ran\r\n")
    ends.idle()
    assert ends.feed(b"MPY: soft reboot\r\n")
    ends.flush()
    assert ends.reset and b"".join(out) == b"bye\r\n"


def test_an_error_message_holding_eot_is_confirmed() -> None:
    probes: list[bytes] = []
    out: list[bytes] = []
    ends = RunEnd(out.append, None, probes.append, probed=True, short=True)
    tb = b"Traceback (most recent call last):\r\nValueError: x\x04>y\r\n"
    assert not feed_all(ends, b"\x04" + tb + b"\x04>" + SHORT_ANSWER)
    assert probes == [b"\x01"]
    assert ends.feed(PROBE_ANSWER)
    assert ends.error == tb


def test_a_last_print_goes_as_it_is_and_keeps_the_last_value(tmp_path) -> None:
    """A cell ending in print(...) travels as typed (no value wrapper: 75 bytes less), and
    `_` keeps the last value shown, as in IPython and the board's own REPL."""
    with VirtualBoard(root=tmp_path) as vb:
        transport = WireLog(vb.port)
        board = Board(transport)
        board.repl.enter()
        shown: list[str] = []
        assert board.run_cell("41 + 1", shown.append).value == "42"
        transport.sent.clear()
        shown.clear()
        result = board.run_cell("print('x')", shown.append)
        assert (result.value, "".join(shown), result.ename) == (None, "x\n", "")
        assert transport.sent == b"print('x')\x04" + SHORT_PROBE
        assert board.run_cell("_", shown.append).value == "42"
        transport.close()


def test_a_short_cell_goes_in_one_write_to_old_firmware_on_a_tiny_heap(
    microbit_port: str,
) -> None:
    """The micro:bit (MicroPython 1.9, no raw-paste, a tiny heap): a cell shorter than
    SAFE_BURST goes as it is, not staged and verified in two round trips."""
    transport = WireLog(microbit_port)
    board = Board(transport)
    try:
        board.repl.enter()
        assert board.probe().tiny
        shown: list[str] = []
        assert board.run_cell("x = 6 * 7", shown.append).ename == ""
        transport.sent.clear()
        shown.clear()
        result = board.run_cell("print(x)", shown.append)
        assert (result.ename, "".join(shown)) == ("", "42\n")
        assert transport.sent == b"print(x)\x04" + SHORT_PROBE
        assert board.repl.raw_paste is False
    finally:
        board.close()


def test_a_stop_outside_the_read_loop_leaves_the_board_in_step(
    repl: RawRepl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stop button pressed just as a run begins, before its read loop (a window of a few
    bytecodes, met once in hundreds of stops): the board is stopped and back at its prompt
    before the KeyboardInterrupt goes on, so the next run is in step."""
    follow = RawRepl.follow
    stops = [KeyboardInterrupt()]

    def stop_first(self: RawRepl, *args: object, **kwargs: object) -> object:
        if stops:
            raise stops.pop()
        return follow(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RawRepl, "follow", stop_first)
    with pytest.raises(KeyboardInterrupt):
        repl.exec("import time\nwhile True:\n    time.sleep(0.01)", lambda _: None)
    out, result = run(repl, "print(6 * 7)")
    assert (out, result.error) == (b"42\n", "")


def test_an_end_a_thread_split_is_probed_while_it_prints_and_then_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thread printing on after a real end can land inside the short answer
    (`OK\x04tick 1\n\x04>`), where no answer matches. While its output keeps coming (idle()
    never runs), a Ctrl-A goes on the retry schedule, and its banner ends the run with the
    thread's lines kept (before: the cell never ended)."""
    monkeypatch.setattr(run_end, "PROBE_RETRY", (0.0, 0.0))
    out: list[bytes] = []
    sent: list[bytes] = []
    ends = RunEnd(out.append, None, sent.append, probed=True, short=True)
    assert not ends.feed(b"6\r\n\x04\x04>OK\x04tick 1\r\n\x04>")
    assert not ends.feed(b"tick 2\r\n")
    assert sent and set(sent) == {b"\x01"}  # probed while the thread printed
    assert ends.feed(b"tick 3\r\nraw REPL; CTRL-B to exit\r\n>")
    ends.flush()
    assert b"".join(out) == b"6\r\n" and ends.error == b""
    assert b"tick 1\r\ntick 2\r\ntick 3" in ends.after and b"\x04" not in ends.after
