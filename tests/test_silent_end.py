"""A run's end costs nothing on the wire when the code can print nothing; any doubt is paid
for with a probe (issue 28). Against a real MicroPython on a PTY (the virtual board)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import WireLog
from conftest import run_raw as run

from mpkernel.board.repl.rawrepl import RAW_BANNER, RawRepl
from mpkernel.board.repl.run_end import RunEnd
from mpkernel.board.repl.silent_code import is_silent
from mpkernel.board.virtual.board import VirtualBoard


@pytest.mark.parametrize(
    ("code", "silent"),
    [
        ("x = 1", True),
        ("x = 1 + 1", True),
        ("a, b = 1, 'two'", True),
        ("y = x", True),  # a name's value is not looked at
        ("d = {'k': y, 2: [3, 4.5]}", True),
        ("", True),
        ("print(1)", False),
        ("x", False),  # the kernel shows its value: a print
        ("y = x + 1", False),  # x may be an object whose __add__ prints
        ("a, b = x", False),  # unpacking runs x's __iter__
        ("s = {x}", False),  # hashing runs x's __hash__
        ("o.v = 1", False),
        ("import os", False),
        ("s = 'a\\x04b'", False),  # an error message could quote it
        ("def f(: pass", False),  # the host cannot parse it: not known
    ],
)
def test_what_counts_as_code_that_prints_nothing(code: str, silent: bool) -> None:
    assert is_silent(code.encode()) is silent


def test_a_silent_cell_costs_only_the_protocol_bytes(repl: RawRepl) -> None:
    transport = repl.transport
    assert isinstance(transport, WireLog)
    for code in ("x = 1", "y = x", "z = 1 / 0"):
        transport.sent.clear()
        transport.received.clear()
        out, result = run(repl, code)
        assert out == b""
        assert transport.sent == code.encode() + b"\x04"  # no probe behind the code
        assert transport.received.startswith(b"OK\x04")
        assert transport.received.endswith(b"\x04>")
        assert RAW_BANNER not in transport.received
    assert "ZeroDivisionError" in result.error
    out, result = run(repl, "print(x, y)")
    assert (out, result.error) == (b"1 1\n", "")


def test_code_that_may_print_still_queues_its_probe(repl: RawRepl) -> None:
    transport = repl.transport
    assert isinstance(transport, WireLog)
    transport.sent.clear()
    out, _ = run(repl, "import sys\nsys.stdout.write('\\x04\\x04>')")
    assert out == b"\x04\x04>"
    assert transport.sent.endswith(b"\x04\x01")


def test_a_silent_run_ends_at_once_without_a_probe() -> None:
    probes: list[bytes] = []
    out: list[bytes] = []
    ends = RunEnd(out.append, None, probes.append, probed=False, silent=True)
    assert ends.feed(b"\x04\x04>")
    assert (probes, ends.error, ends.after) == ([], b"", b">")


def test_a_silent_run_with_a_stray_byte_first_is_probed() -> None:
    probes: list[bytes] = []
    out: list[bytes] = []
    ends = RunEnd(out.append, None, probes.append, probed=False, silent=True)
    assert not ends.feed(b"X\x04\x04>")  # a thread printed: that could be a fake end
    assert probes == [b"\x01"]
    assert ends.feed(b"raw REPL; CTRL-B to exit\r\n>")
    ends.flush()
    assert b"".join(out) == b"X"


def test_silent_code_through_each_delivery_path(tmp_path: Path) -> None:
    """Plain raw mode, raw-paste and the legacy path (firmware without raw-paste) alike."""
    lines = "\n".join(f"w{i} = {i}" for i in range(40))  # silent, over 48 and 254 bytes
    for legacy in (False, True):
        with VirtualBoard(root=tmp_path / str(legacy), legacy=legacy) as vb:
            transport = WireLog(vb.port)
            r = RawRepl(transport)
            r.enter()
            for code in ("x = 1", lines, lines + "\nz = 1 / 0"):
                transport.sent.clear()
                out, result = run(r, code)
                assert out == b""
                assert ("ZeroDivisionError" in result.error) == code.endswith("/ 0")
                assert not transport.sent.endswith(b"\x04\x01")  # no probe behind the code
            assert r.raw_paste is (not legacy)
            out, result = run(r, "print(x, w39)")
            assert (out, result.error) == (b"1 39\n", "")
            transport.close()
