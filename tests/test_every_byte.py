"""Every byte is trusted: what a program prints and what a cell holds travel byte-exact, and
the link to the board never shifts (issue 14). Each case runs through the kernel, and the
next cell must still print 2."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import run


def still_in_step(kc) -> None:
    r = run(kc, "print(2)")
    assert (r.status, r.stdout) == ("ok", "2\n"), r.text


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("print('a\\x04b'); print('after')", "a\x04b\nafter\n"),
        (
            "import sys; sys.stdout.buffer.write(bytes(range(8))); print('tail')",
            "".join(map(chr, range(8))) + "tail\n",
        ),
        (
            "import sys, time; sys.stdout.write('\\x04\\x04'); time.sleep(0.7); print('LATE')",
            "\x04\x04LATE\n",
        ),
        # Shaped like the protocol's end, then more output.
        (
            "import sys, time\nsys.stdout.write('\\x04\\x04>')\ntime.sleep(0.3)\nprint('more')",
            "\x04\x04>more\n",
        ),
    ],
)
def test_control_bytes_in_the_output_reach_the_notebook(kc, code: str, shown: str) -> None:
    r = run(kc, code)
    assert r.status == "ok", r.text
    assert r.stdout == shown
    still_in_step(kc)


def test_output_shaped_like_a_traceback_is_output_and_the_real_error_is_the_error(kc) -> None:
    fake = "\\x04Traceback (most recent call last):\\n  fake\\n\\x04>"
    r = run(kc, f"import sys\nsys.stdout.write('{fake}')\nraise ValueError('real')")
    assert r.status == "error"
    assert (r.reply["ename"], r.reply["evalue"]) == ("ValueError", "real")
    assert r.stdout.startswith("\x04Traceback (most recent call last):\n  fake\n")
    still_in_step(kc)


def test_exception_message_with_control_bytes(kc) -> None:
    r = run(kc, "raise ValueError('x\\x04>y')")
    assert (r.reply["ename"], r.reply["evalue"]) == ("ValueError", "x\x04>y")
    still_in_step(kc)


def test_shadowed_print_still_ends_the_cell(kc) -> None:
    r = run(kc, "print = lambda *a, **k: None\nx = 5")
    assert r.status == "ok"
    assert run(kc, "del print\nx").result == "5"
    still_in_step(kc)


def test_interrupt_after_output_shaped_like_the_end(kernel) -> None:
    km, kc = kernel
    timer = threading.Timer(0.5, km.interrupt_kernel)
    timer.start()
    start = time.monotonic()
    r = run(kc, "import sys\nsys.stdout.write('\\x04\\x04>')\nwhile True:\n    pass", timeout=20)
    assert r.reply["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - start < 3
    still_in_step(kc)


@pytest.mark.parametrize("char", ["\x04", "\x03", "\x02", "\x01", "\x00", "\x1b", "\x7f", "\r"])
def test_control_characters_in_string_literals_reach_the_board_exactly(kc, char: str) -> None:
    pad = "# " + "x" * 250 + "\n"  # over 200 bytes: the raw-paste path
    for prefix in ("", pad):
        code = f"{prefix}s = 'a{char}b'\nb = b'<{char}>'\nprint(len(s), ord(s[1]), list(b))"
        r = run(kc, code)
        assert r.status == "ok", r.text
        assert r.stdout == f"3 {ord(char)} [60, {ord(char)}, 62]\n"
        still_in_step(kc)


def test_control_characters_outside_strings_are_refused_in_one_line(kc) -> None:
    for code, where in (("x = 1\x04", "outside a string"), ("x = r'a\x03b'", "in a raw string")):
        r = run(kc, "y = 1\n" + code)
        assert r.status == "error"
        assert len(r.error["traceback"]) == 1
        assert r.error["evalue"].startswith("Line 2 holds the control character U+000")
        assert where in r.error["evalue"]
        still_in_step(kc)


def test_control_characters_in_comments_are_harmless(kc) -> None:
    r = run(kc, "# a\x04b\x02c\nprint('ok')")
    assert (r.status, r.stdout) == ("ok", "ok\n")
    still_in_step(kc)


def test_crlf_cells_run_and_tracebacks_name_the_right_line(kc) -> None:
    r = run(kc, "x = 1 + \\\r\n    2\r\nprint(x)\r\n")
    assert (r.status, r.stdout) == ("ok", "3\n"), r.text
    r = run(kc, "a = 1\r\nb = '''x\r\ny'''\r\nraise ValueError(b.replace('\\n', '|'))\r\n")
    assert r.reply["evalue"] == "x|y"
    assert any("line 4" in line for line in r.error["traceback"]), r.error["traceback"]
    still_in_step(kc)


def test_empty_plot_cell_does_not_reset_the_board(kc) -> None:
    run(kc, "keep = 7")
    r = run(kc, "%%plot\n")
    assert r.status == "ok", r.text
    r = run(kc, "print(keep)")
    assert (r.status, r.stdout) == ("ok", "7\n"), r.text


def test_a_cell_too_deep_for_the_host_parser_still_runs_on_the_board(kc) -> None:
    r = run(kc, "x = " + "+".join(["1"] * 100_000) + "\nprint(x)", timeout=120)
    assert r.status == "ok", r.text
    assert r.stdout == "100000\n"
