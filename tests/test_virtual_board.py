"""The virtual board behaves like a board: its folder is `/`, its `machine` is the unix port's
plus ESP8266-like pins, its flash has its own size, it inherits no secrets, what it prints at
a reset is shown, and its WebREPL is real (served on 127.0.0.1 by its host process)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import assert_interrupt_keeps_state, run, start_kernel
from jupyter_client import BlockingKernelClient, KernelManager

from mpkernel.board.session import Board
from mpkernel.board.virtual.board import FS_SIZE, SIM_DIR, VirtualBoard

PASSWORD = "vb-pass1"


def ok(r) -> str:  # type: ignore[no-untyped-def]
    assert r.status == "ok", r.text
    return r.text


@pytest.fixture
def board_kernel(tmp_path: Path) -> Iterator[tuple[KernelManager, BlockingKernelClient, Path]]:
    """A kernel on a virtual board whose folder is tmp_path/board; secrets in its environment."""
    root = tmp_path / "board"
    root.mkdir()
    env = {"MPKERNEL_WEBREPL_PASSWORD": PASSWORD, "MPKERNEL_WIFI_PASSWORD": "wifi-secret"}
    km, kc = start_kernel(env)
    ok(run(kc, f"%connect virtual --root {root}"))
    yield km, kc, root
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_files_written_are_imported_as_on_a_board(board_kernel) -> None:
    _, kc, root = board_kernel
    assert run(kc, "import sys\nsys.path").result == "['', '.frozen', '/lib']"
    ok(run(kc, "%%writefile hello.py\nGREETING = 'hi from hello.py'"))
    assert run(kc, "import hello\nhello.GREETING").result == "'hi from hello.py'"
    (root / "lib").mkdir()
    (root / "lib" / "helper.py").write_text("X = 7\n")
    assert run(kc, "import helper\nhelper.X").result == "7"
    assert run(kc, "import os\nos.getcwd(), sorted(os.listdir('/'))").result == (
        "('/', ['hello.py', 'lib'])"
    )
    # The simulated firmware modules are found as built-ins are, not listed among the files.
    assert run(kc, "os.listdir('/lib')").result == "['helper.py']"


def test_errors_show_only_the_users_lines(board_kernel) -> None:
    """A failed open() passes through the virtual board's own filesystem code (sim/): its
    frames, with their paths on this computer, are not shown, as a board shows none."""
    _, kc, _ = board_kernel
    r = run(kc, "def read(name):\n    return open(name).read()\n\nread('missing.txt')")
    assert r.status == "error"
    shown = "\n".join(r.error["traceback"])
    assert str(SIM_DIR) not in shown and "_mpk.py" not in shown, shown
    assert 'File "<stdin>", line 4, in <module>' in shown
    assert 'File "<stdin>", line 2, in read' in shown
    assert r.error["ename"] == "OSError" and "ENOENT" in r.error["evalue"]


def test_machine_is_the_unix_ports_plus_esp8266_pins(board_kernel) -> None:
    _, kc, _ = board_kernel
    code = (
        "from machine import Pin, Signal\n"
        "s = Signal(Pin(2, Pin.OUT))\ns(1)\nprint(s(), Pin(2)(), Pin(2).value())\n"
        "inv = Signal(Pin(4, Pin.OUT), invert=True)\ninv.on()\nprint(inv.value(), Pin(4)())\n"
        "p = Pin(5, Pin.OUT)\np.on()\nprint(p())\np.off()\nprint(p.value())\n"
        "p(1)\nprint(p())\n"
        "irq = Pin(0, Pin.IN, Pin.PULL_UP).irq(handler=lambda p: None, trigger=Pin.IRQ_FALLING)\n"
        "print(Pin(0)(), irq.trigger())\n"
        "import machine, umachine\nprint(machine.Signal is umachine.Signal, machine.PinBase)"
    )
    assert ok(run(kc, code)).splitlines() == [
        "1 1 1",
        "1 0",
        "1",
        "0",
        "1",
        "1 2",
        "True <class 'PinBase'>",
    ]
    r = run(kc, "Pin(6)")  # the ESP8266 has no GPIO6 for programs (its flash uses it)
    assert r.error and r.error["evalue"] == "invalid pin"


def test_clean_environment(board_kernel) -> None:
    _, kc, _ = board_kernel
    names = ("MPKERNEL_WIFI_PASSWORD", "MPKERNEL_WEBREPL_PASSWORD")
    code = f"import os\nfor v in {names!r}:\n    print(os.getenv(v))"
    assert ok(run(kc, code)).split() == ["None", "None"]


def test_df_and_ilistdir_report_the_boards_flash(board_kernel) -> None:
    _, kc, root = board_kernel
    (root / "data.bin").write_bytes(b"x" * 10_000)
    stat = run(kc, "import os\nos.statvfs('/')").result
    fields = [int(v) for v in stat.strip("()").split(",")]
    assert fields[0] * fields[2] == FS_SIZE
    assert fields[3] == FS_SIZE // 4096 - 3  # 10,000 bytes take 3 blocks of 4 KB
    assert ok(run(kc, "%df")).startswith("3.0 MB free of 3.0 MB (12.0 KB used, 0%)")
    listing = run(kc, "sorted(os.ilistdir('/'))").result
    assert listing.startswith("[('data.bin', 32768, ") and listing.endswith(", 10000)]")


def test_mpremote_ls_shows_sizes(tmp_path: Path) -> None:
    (tmp_path / "five.txt").write_bytes(b"12345")
    with VirtualBoard(root=tmp_path) as vb:
        out = subprocess.run(
            [sys.executable, "-m", "mpremote", "connect", vb.port, "fs", "ls", ":"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert re.search(r"^\s*5 five\.txt$", out.stdout, re.M), out.stdout + out.stderr


def test_output_at_a_reset_is_shown(board_kernel) -> None:
    _, kc, root = board_kernel
    (root / "boot.py").write_text("print('boot.py ran')\n")
    run(kc, "import sys\nsys.atexit(lambda: print('atexit ran'))")
    out = ok(run(kc, "%reset"))
    assert out.index("atexit ran") < out.index("boot.py ran") < out.index("Soft reset done")
    r = run(kc, "import sys\nsys.atexit(lambda: print('bye'))\nprint('exiting')\nsys.exit()")
    assert r.reply["ename"] == "BoardReset"  # the cell's state is gone: an error says so
    out = r.text
    assert out.index("exiting") < out.index("bye") < out.index("boot.py ran")
    assert "soft reboot" not in out and "raw REPL" not in out


def test_hard_reset_lets_boot_and_main_run_to_their_end(tmp_path: Path) -> None:
    """A hard reset shows all that a slow boot.py and main.py print: the Ctrl-C that enters
    the raw REPL comes after them, however long the virtual board's own start-up takes on a
    busy computer; a main.py that never ends is stopped, and the board answers again."""
    (tmp_path / "boot.py").write_text("import time\ntime.sleep(0.6)\nprint('boot ran')\n")
    (tmp_path / "main.py").write_text("import time\ntime.sleep(0.6)\nprint('main ran')\n")
    board = Board.open("virtual", root=tmp_path)
    try:
        out = board.hard_reset()
        assert "boot ran" in out and "main ran" in out, out
        assert "KeyboardInterrupt" not in out, out
        (tmp_path / "main.py").write_text("while True:\n    pass\n")
        out = board.hard_reset()
        assert "boot ran" in out, out
        assert board.exec_capture("print(6 * 7)").strip() == "42"
    finally:
        board.close()


def test_connect_says_a_program_was_stopped_only_when_one_ran(tmp_path: Path) -> None:
    """The Ctrl-C that connect sends finds the prompt of a board with nothing to run (it
    used to land in the virtual board's own start-up, whose traceback then told every
    newcomer that a program had been running), and stops a main.py that runs for ever."""
    for _ in range(3):
        board = Board.open("virtual", root=tmp_path)
        try:
            assert board.take_notices() == []
            assert board.exec_capture("print(6 * 7)").strip() == "42"
        finally:
            board.close()
    (tmp_path / "main.py").write_text("while True:\n    pass\n")
    board = Board.open("virtual", root=tmp_path)
    try:
        assert board.take_notices() == [
            "A program was running on the board (main.py?); Ctrl-C stopped it."
        ]
        assert board.exec_capture("print(6 * 7)").strip() == "42"
    finally:
        board.close()


def test_board_folders_left_behind_are_swept(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A new virtual board removes the temp folders that boards of older versions (or killed
    ones) left: this account's only, none in use (a process works in it), none just made,
    never what a link in the temp folder points to."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    old, busy, fresh = (tmp_path / f"mpkernel-board-{n}" for n in ("old", "busy", "fresh"))
    elsewhere = tmp_path / "elsewhere"
    for folder in (old, busy, fresh, elsewhere):
        folder.mkdir()
        (folder / "main.py").write_text("print('kept?')\n")
    (tmp_path / "mpkernel-board-link").symlink_to(elsewhere)
    hour_ago = time.time() - 3600
    for path in (old, busy, elsewhere):
        os.utime(path, (hour_ago, hour_ago))
    worker = subprocess.Popen(["sleep", "120"], cwd=busy)  # as a board's MicroPython in it
    try:
        with VirtualBoard() as vb:
            deadline = time.monotonic() + 30
            while old.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not old.exists()
            assert vb.root.parent == tmp_path and vb.root.exists()
            assert (busy / "main.py").exists() and (fresh / "main.py").exists()
            assert (elsewhere / "main.py").exists()
    finally:
        worker.kill()
        worker.wait()


def test_webrepl_on_the_virtual_board(board_kernel, tmp_path: Path) -> None:
    km, kc, root = board_kernel
    ok(run(kc, "%webrepl setup", allow_stdin=False))
    out = ok(run(kc, "%reset"))
    assert "ImportError" not in out
    assert "WebREPL server started on http://127.0.0.1:" in out
    status = ok(run(kc, "%webrepl status"))
    url = re.search(r"Listens on (ws://127\.0\.0\.1:\d+)", status).group(1)  # type: ignore[union-attr]
    assert "192.168" not in status  # no simulated address that nothing listens on

    # The same board, over WebREPL: cells, an interrupt, file transfers.
    ok(run(kc, f"%connect {url}", allow_stdin=False))
    assert run(kc, "import os\nos.getcwd()").result == "'/'"
    assert_interrupt_keeps_state(km, kc, within=5.0)
    data = bytes(range(256)) * 20
    (tmp_path / "up.bin").write_bytes(data)
    ok(run(kc, f"%put {tmp_path / 'up.bin'} up.bin"))
    assert (root / "up.bin").read_bytes() == data
    ok(run(kc, f"%get up.bin {tmp_path / 'down.bin'}"))
    assert (tmp_path / "down.bin").read_bytes() == data

    # A reset over WebREPL: boot.py starts it again, the kernel logs in again.
    ok(run(kc, "%reset"))
    assert run(kc, "1 + 1").result == "2"
    # Back to the cable: the same board (its WebREPL kept it running), and it still serves.
    ok(run(kc, "%connect virtual"))
    assert run(kc, "import os\n'up.bin' in os.listdir()").result == "True"
    assert url in ok(run(kc, "%webrepl status"))


def test_webrepl_connect_finds_the_virtual_boards_address(board_kernel) -> None:
    _, kc, _ = board_kernel
    r = run(kc, "%webrepl connect", allow_stdin=False)
    assert r.error and "not running" in r.error["evalue"]
    ok(run(kc, "%webrepl setup --reset", allow_stdin=False))
    r = run(kc, "%webrepl connect", allow_stdin=False)
    ok(r)
    assert "via WebREPL at ws://127.0.0.1:" in r.text
    assert "via webrepl to the virtual board" in r.shown  # provenance: not a real board
    assert run(kc, "import sys\nsys.platform").result == "'linux'"


def test_a_board_started_by_hand_has_no_secrets(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MPKERNEL_WIFI_PASSWORD", "leak-me")
    with VirtualBoard(root=tmp_path) as vb:
        env = (Path("/proc") / str(vb._proc.pid) / "environ").read_bytes()
    assert b"leak-me" not in env
    assert os.environ["MPKERNEL_WIFI_PASSWORD"] == "leak-me"


def test_flat_variant_has_a_micro_bit_os(tmp_path: Path) -> None:
    """The variant for flat-filesystem boards (micro:bit v1): os has listdir, remove, size."""
    with VirtualBoard(root=tmp_path, heap="6k", flat=True) as vb:
        km, kc = start_kernel()
        try:
            ok(run(kc, f"%connect {vb.port}"))
            names = run(kc, "import os\nsorted(n for n in dir(os) if n[0] != '_')").result
            assert names == "['listdir', 'remove', 'size', 'uname']"
            code = "f = open('a.txt', 'w')\nf.write('hello')\nf.close()\n"
            code += "os.listdir(), os.size('a.txt')"
            assert run(kc, code).result == "(['a.txt'], 5)"
            assert (tmp_path / "a.txt").read_text() == "hello"
            free = int(run(kc, "import gc\ngc.collect()\ngc.mem_free()").result or 0)
            assert 3000 < free < 6144
            run(kc, "os.remove('a.txt')")
            assert not (tmp_path / "a.txt").exists()
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
