"""The kernel as Jupyter drives it: cells, values, errors, streaming, interrupt, resets."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import run, start_kernel
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager


def test_expression_value_is_an_execute_result(kc: BlockingKernelClient) -> None:
    r = run(kc, "1 + 2")
    assert r.status == "ok"
    assert r.result == "3"
    assert r.stdout == ""


def test_prints_then_value(kc: BlockingKernelClient) -> None:
    r = run(kc, "print('hello')\nz = [1, 'two']\nz")
    assert r.stdout == "hello\n"
    assert r.result == "[1, 'two']"


def test_no_value_for_statements_none_or_trailing_semicolon(kc: BlockingKernelClient) -> None:
    assert run(kc, "a = 5").result is None
    assert run(kc, "print('p')").result is None
    assert run(kc, "a;").result is None
    assert run(kc, "a").result == "5"


def test_value_kept_in_underscore(kc: BlockingKernelClient) -> None:
    run(kc, "40 + 2")
    assert run(kc, "_ + 0").result == "42"


def test_device_exception_becomes_a_jupyter_error(kc: BlockingKernelClient) -> None:
    r = run(kc, "x = 1\nint('nope')")
    assert r.status == "error"
    assert r.reply["ename"] == "ValueError"
    assert "invalid syntax for integer" in r.reply["evalue"]
    err = r.error
    assert err is not None and err["ename"] == "ValueError"
    assert any("line 2" in line for line in err["traceback"])


@pytest.mark.timing
def test_output_streams_while_the_cell_runs(kc: BlockingKernelClient) -> None:
    code = "import time\nfor i in range(4):\n    print('tick', i)\n    time.sleep(0.4)"
    r = run(kc, code)
    ticks = [(t, m) for t, m in zip(r.times, r.messages, strict=True) if m["msg_type"] == "stream"]
    assert "".join(m["content"]["text"] for _, m in ticks) == "".join(
        f"tick {i}\n" for i in range(4)
    )
    assert len(ticks) >= 4
    # Each line arrived when printed, not all at the end.
    assert ticks[-1][0] - ticks[0][0] > 1.0


def test_unicode_output(kc: BlockingKernelClient) -> None:
    r = run(kc, "print('température: 21 °C ✓')")
    assert r.stdout == "température: 21 °C ✓\n"


def test_execution_count_and_history(kc: BlockingKernelClient) -> None:
    r1 = run(kc, "b1 = 1")
    r2 = run(kc, "b1")
    assert r2.reply["execution_count"] == r1.reply["execution_count"] + 1
    kc.history(hist_access_type="tail", n=2)
    hist = kc.get_shell_msg(timeout=10)["content"]["history"]
    assert [h[2] for h in hist] == ["b1 = 1", "b1"]


def test_leading_magic_lines_then_code(kc: BlockingKernelClient) -> None:
    r = run(kc, "%ports\nprint('after the magic')")
    assert "after the magic" in r.stdout
    assert r.status == "ok"


def test_lsmagic_and_help(kc: BlockingKernelClient) -> None:
    r = run(kc, "%lsmagic")
    for name in ("%connect", "%disconnect", "%ports", "%reset", "%help", "%%host"):
        assert name in r.stdout
    r = run(kc, "%help connect")
    assert "--baud" in r.stdout and "usage: %connect" in r.stdout
    r = run(kc, "%reset -h")
    assert "--hard" in r.stdout


def test_unknown_magic_and_bad_arguments_are_one_line(kc: BlockingKernelClient) -> None:
    r = run(kc, "%nosuchmagic")
    assert r.status == "error" and "%lsmagic" in r.reply["evalue"]
    assert len(r.error["traceback"]) == 1  # type: ignore[index]
    r = run(kc, "%connect --baud fast")
    assert r.status == "error" and "invalid int value" in r.reply["evalue"]


@pytest.mark.timing
def test_interrupt_ends_a_busy_loop_within_a_second(kernel) -> None:
    km, kc = kernel
    timer = threading.Timer(0.5, km.interrupt_kernel)
    timer.start()
    start = time.monotonic()
    r = run(kc, "while True:\n    pass", timeout=20)
    elapsed = time.monotonic() - start
    assert r.status == "error"
    assert r.reply["ename"] == "KeyboardInterrupt"
    assert elapsed - 0.5 < 1.0
    assert "^C" not in r.text
    # The next cell runs normally.
    assert run(kc, "'alive'").result == "'alive'"


@pytest.mark.timing
def test_interrupt_during_sleep_keeps_state(kernel) -> None:
    km, kc = kernel
    run(kc, "kept = 7")
    timer = threading.Timer(0.5, km.interrupt_kernel)
    timer.start()
    r = run(kc, "import time\ntime.sleep(30)", timeout=20)
    assert r.reply["ename"] == "KeyboardInterrupt"
    assert run(kc, "kept").result == "7"


def test_completion_from_the_board(kc: BlockingKernelClient) -> None:
    run(kc, "import machine\nmy_long_variable = 3")
    kc.complete("machine.Pin", 11)
    content = kc.get_shell_msg(timeout=10)["content"]
    assert "PinBase" in content["matches"]
    assert content["cursor_start"] == len("machine.")
    kc.complete("my_long", 7)
    assert kc.get_shell_msg(timeout=10)["content"]["matches"] == ["my_long_variable"]
    kc.complete("import mach", 11)
    assert "machine" in kc.get_shell_msg(timeout=10)["content"]["matches"]
    kc.complete("from machine import Pi", 21)
    assert "PinBase" in kc.get_shell_msg(timeout=10)["content"]["matches"]
    kc.complete("%dis", 4)
    assert kc.get_shell_msg(timeout=10)["content"]["matches"] == ["%disconnect"]


def test_inspection_from_the_board(kc: BlockingKernelClient) -> None:
    run(kc, "def greet(name):\n    return 'hi ' + name")
    kc.inspect("greet(", 3)
    content = kc.get_shell_msg(timeout=10)["content"]
    assert content["found"]
    assert "function" in content["data"]["text/plain"]


def test_completion_of_a_module_imported_in_the_same_cell(kc: BlockingKernelClient) -> None:
    code = "import framebuf\nframebuf.FrameB"  # not imported on the board yet
    assert run(kc, "'framebuf' in globals()").result == "False"
    kc.complete(code, len(code))
    assert "FrameBuffer" in kc.get_shell_msg(timeout=10)["content"]["matches"]
    assert run(kc, "'framebuf' in globals()").result == "False"  # nothing bound by asking
    kc.complete("nosuchmodule.x", 14)
    assert kc.get_shell_msg(timeout=10)["content"]["matches"] == []


def test_is_complete(kc: BlockingKernelClient) -> None:
    kc.is_complete("for i in range(3):")
    assert kc.get_shell_msg(timeout=10)["content"]["status"] == "incomplete"
    kc.is_complete("x = 1")
    assert kc.get_shell_msg(timeout=10)["content"]["status"] == "complete"


def test_kernel_info_hides_host_debugger_and_subshells(kc: BlockingKernelClient) -> None:
    kc.kernel_info()
    info = kc.get_shell_msg(timeout=10)["content"]
    assert info["implementation"] == "mpkernel"
    assert info["language_info"]["name"] == "python"
    assert "debugger" not in info.get("supported_features", [])
    assert "kernel subshells" not in info.get("supported_features", [])


def test_host_cell_runs_in_ipython(kc: BlockingKernelClient) -> None:
    r = run(kc, "%%host\nimport sys\nsys.implementation.name")
    assert r.result == "'cpython'"


def test_soft_and_hard_reset(tmp_path: Path) -> None:
    (tmp_path / "boot.py").write_text("print('boot ran')\n")
    (tmp_path / "main.py").write_text("print('main ran')\n")
    km, kc = start_kernel()
    try:
        assert run(kc, f"%connect virtual --root {tmp_path}").status == "ok"
        run(kc, "state = 1")
        r = run(kc, "%reset")
        assert r.status == "ok"
        assert "boot ran" in r.stdout and "main ran" not in r.stdout
        assert run(kc, "'state' in globals()").result == "False"
        run(kc, "state = 2")
        r = run(kc, "%reset --hard")
        assert r.status == "ok", r.text
        assert "Hard reset" in r.stdout
        assert "boot ran" in r.stdout and "main ran" in r.stdout
        assert run(kc, "'state' in globals()").result == "False"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_no_tcp_encryption_warning_on_loopback(tmp_path: Path) -> None:
    """Jupyter's kernel manager gives the kernel 127.0.0.1: ipykernel's "running over TCP
    without encryption" warning does not apply there and is not printed (other log lines are)."""
    log = tmp_path / "kernel.log"
    km = KernelManager(kernel_name="micropython")
    with log.open("w") as stderr:
        km.start_kernel(extra_arguments=["--log-level=INFO"], stderr=stderr)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert km.ip == "127.0.0.1"
    logged = log.read_text()
    assert "Starting the kernel at pid" in logged  # the log itself is there
    assert "without encryption" not in logged
