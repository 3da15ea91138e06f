"""%mount / %umount through the kernel: a folder of this computer as the board's working folder.

The board is the virtual board (the unix port's real VFS and import machinery); every byte
of the mount protocol crosses its serial link as it would a board's UART.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import connected_kernel, kernel_on_board, run, start_kernel
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

ALL_BYTES = bytes(range(256))


@pytest.fixture(scope="module")
def mounted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("host")
    (folder / "sensor.py").write_text("READING = 21\n\ndef double(x):\n    return 2 * x\n")
    (folder / "data").mkdir()
    (folder / "data" / "log.txt").write_text("one\ntwo\nthree\n")
    return folder


@pytest.fixture(scope="module")
def mount_kernel(
    board_root: Path, mounted: Path
) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    for km, kc in connected_kernel(f"%connect virtual --root {board_root}"):
        r = run(kc, f"%mount {mounted}")
        assert r.status == "ok", r.text
        yield km, kc


@pytest.fixture
def kc(mount_kernel: tuple[KernelManager, BlockingKernelClient]) -> BlockingKernelClient:
    return mount_kernel[1]


def ok(r) -> str:
    assert r.status == "ok", r.text + str(r.error)
    return r.shown


def one_line(r, ename: str) -> str:
    assert r.status == "error", r.shown
    assert r.error["ename"] == ename, r.error
    message = r.error["evalue"]
    assert "\n" not in message and "Traceback" not in message
    return message


def test_import_reads_the_host_folder_and_sees_edits(kc, mounted: Path) -> None:
    assert ok(run(kc, "import os\nprint(os.getcwd())")).strip() == "/remote"
    assert run(kc, "import sensor\nsensor.double(sensor.READING)").result == "42"
    (mounted / "sensor.py").write_text("READING = 50\n\ndef double(x):\n    return 2 * x\n")
    r = run(
        kc, "import sys\ndel sys.modules['sensor']\nimport sensor\nsensor.double(sensor.READING)"
    )
    assert r.result == "100"
    listed = eval(run(kc, "sorted(os.listdir())").result or "None")
    assert listed == sorted(p.name for p in mounted.iterdir())
    r = run(kc, "f = open('data/log.txt')\nprint(f.readline(), end='')\nprint(f.read(), end='')")
    assert ok(r) == "one\ntwo\nthree\n"
    assert ok(run(kc, "for line in open('data/log.txt'):\n    print(line.strip())")) == (
        "one\ntwo\nthree\n"
    )


def test_a_module_bigger_than_a_read_chunk_imports_whole(kc, mounted: Path) -> None:
    body = "".join(f"V{i} = {i}\n" for i in range(3000))  # ~26 KB: many read answers
    (mounted / "big.py").write_text(body + "LAST = 'end'\n")
    assert run(kc, "import big\n(big.V2999, big.LAST)").result == "(2999, 'end')"


def test_files_written_on_the_board_land_in_the_folder(kc, mounted: Path) -> None:
    # every byte value, the escape sequences themselves, several requests each way
    data = ALL_BYTES * 40 + b"\x1bC\x1bE\x03\x1b\x1b\x03tail"
    r = run(
        kc,
        f"with open('data/out.bin', 'wb') as f:\n    f.write({data!r})\nos.stat('data/out.bin')[6]",
    )
    assert r.result == str(len(data)), r.text
    assert (mounted / "data" / "out.bin").read_bytes() == data
    back = run(kc, f"open('data/out.bin', 'rb').read() == {data!r}")
    assert back.result == "True", back.text
    ok(run(kc, "with open('notes.txt', 'w') as f:\n    f.write('ß and ü\\n')"))
    assert (mounted / "notes.txt").read_text(encoding="utf-8") == "ß and ü\n"
    ok(run(kc, "with open('grüße.txt', 'w') as f:\n    f.write('hi')"))
    assert (mounted / "grüße.txt").read_text() == "hi"
    assert run(kc, "'grüße.txt' in os.listdir()").result == "True"
    assert run(kc, "open('grüße.txt').read()").result == "'hi'"
    (mounted / "grüße.txt").unlink()
    ok(run(kc, "os.mkdir('made')\nos.rename('notes.txt', 'made/n.txt')"))
    assert (mounted / "made" / "n.txt").exists() and not (mounted / "notes.txt").exists()
    ok(run(kc, "os.remove('made/n.txt')\nos.rmdir('made')"))
    assert not (mounted / "made").exists()


def test_paths_outside_the_folder_are_refused(kc, mounted: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (mounted / "link_out").symlink_to(secret)
    try:
        for path in ("../secret.txt", "data/../../secret.txt", "link_out"):
            r = run(kc, f"open({path!r}).read()")
            assert r.status == "error" and r.error["ename"] == "OSError", (path, r.shown)
            assert r.error["evalue"] == "[Errno 13] EACCES", r.error
        assert "link_out" not in (run(kc, "os.listdir()").result or "")
        r = run(kc, "open('../escaped.txt', 'w')")
        assert r.status == "error"
        assert not (mounted.parent / "escaped.txt").exists()
        assert secret.read_text() == "private"
    finally:
        (mounted / "link_out").unlink()


def test_a_program_printing_the_request_byte_is_shown_as_printed(kc) -> None:
    r = run(kc, "print('\\x18Sno end', end='')")
    assert r.status == "ok" and r.stdout == "\x18Sno end", r.text
    r = run(kc, "print('a\\x18', end='')")
    assert r.status == "ok" and r.stdout == "a\x18", r.text


def test_missing_files_fail_as_on_a_board(kc) -> None:
    r = run(kc, "open('nothing.txt')")
    assert (r.error["ename"], r.error["evalue"]) == ("OSError", "[Errno 2] ENOENT"), r.error
    assert run(kc, "import no_such_module").error["ename"] == "ImportError"


def test_file_magics_on_the_mount_use_this_computer(kc, mounted: Path, tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("x = 1\n")
    out = ok(run(kc, f"%put {tmp_path / 'x.py'} x.py"))
    assert "mounted folder" in out, out
    assert (mounted / "x.py").read_text() == "x = 1\n"
    assert not [p for p in mounted.iterdir() if "mpk-part" in p.name]
    assert ok(run(kc, "%cat data/log.txt")) == "one\ntwo\nthree\n"
    ok(run(kc, f"%get /remote/data/log.txt {tmp_path / 'log.txt'}"))
    assert (tmp_path / "log.txt").read_text() == "one\ntwo\nthree\n"
    assert "sensor.py" in ok(run(kc, "%ls"))
    escape = run(kc, f"%put {tmp_path / 'x.py'} /remote/../x.py")
    assert "outside the folder mounted" in one_line(escape, "FileError")
    assert not (mounted.parent / "x.py").exists()
    # Outside the mount the board's own filesystem takes files, over the link.
    out = ok(run(kc, f"%put {tmp_path / 'x.py'} /x.py"))
    assert "verified by sha256" in out and "mounted" not in out


def test_soft_reset_keeps_the_folder_mounted(kc) -> None:
    ok(run(kc, "%reset"))
    assert ok(run(kc, "import os\nprint(os.getcwd())")).strip() == "/remote"
    assert run(kc, "import sensor\nsensor.READING").result in ("21", "50")
    r = run(kc, "import sys\nsys.exit()")  # a reset from inside a cell
    assert r.status in ("ok", "error")
    assert run(kc, "import sensor\nsensor.double(4)").result == "8"


def test_stop_during_reads_keeps_link_and_mount(
    mount_kernel: tuple[KernelManager, BlockingKernelClient], mounted: Path
) -> None:
    km, kc = mount_kernel
    (mounted / "blob.bin").write_bytes(os.urandom(64 * 1024))
    started = threading.Event()

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream" and "reading" in msg["content"]["text"]:
            started.set()

    def stop_when_reading() -> None:
        if started.wait(60):
            time.sleep(0.2)  # well inside the loop of reads
            km.interrupt_kernel()

    stopper = threading.Thread(target=stop_when_reading)
    stopper.start()
    code = "print('reading')\nwhile True:\n    open('blob.bin', 'rb').read()"
    reply = kc.execute_interactive(code, output_hook=hook, timeout=60)
    stopper.join()
    content = reply["content"]
    assert content["ename"] == "KeyboardInterrupt", content.get("traceback")
    for _ in range(3):  # the link is in step: cells and the mount work at once
        assert run(kc, "len(open('blob.bin', 'rb').read())").result == str(64 * 1024)
        assert run(kc, "1 + 1").result == "2"


def test_umount_ends_it(kc, mounted: Path) -> None:
    assert str(mounted) in ok(run(kc, "%mount"))
    assert "Unmounted" in ok(run(kc, "%umount"))
    assert ok(run(kc, "import os\nprint(os.getcwd())")).strip() == "/"
    r = run(kc, "import sys\nsys.modules.pop('sensor', None)\nimport sensor")
    assert r.error["ename"] == "ImportError"
    assert "Nothing" in ok(run(kc, "%umount"))
    assert "Mounted" in ok(run(kc, f"%mount {mounted}"))  # and again, for later tests


def test_a_folder_that_is_not_there_is_one_line(kc, tmp_path: Path) -> None:
    message = one_line(run(kc, f"%mount {tmp_path / 'nope'}"), "UsageError")
    assert "does not exist" in message
    (tmp_path / "file.txt").write_text("x")
    assert "not a folder" in one_line(run(kc, f"%mount {tmp_path / 'file.txt'}"), "UsageError")


@pytest.mark.parametrize("missing", ["os.mount", "io.IOBase", "binascii"])
def test_a_board_without_what_mounting_needs_says_so(tmp_path: Path, missing: str) -> None:
    with kernel_on_board(tmp_path / "board", hide=missing) as kc:
        message = one_line(run(kc, f"%mount {tmp_path}"), "MountError")
        assert f"no {missing}" in message
        assert run(kc, "1 + 2").result == "3"  # the link is fine


def test_mount_over_webrepl(tmp_path: Path) -> None:
    """The same requests and answers travel in WebREPL's text frames."""
    from webrepl_server import WebReplServer

    folder = tmp_path / "host"
    folder.mkdir()
    (folder / "wmod.py").write_text("def hello():\n    return 'over wifi'\n" + "# pad\n" * 2000)
    server = WebReplServer(tmp_path / "board", password="mount123")
    km, kc = start_kernel({"MPKERNEL_WEBREPL_PASSWORD": "mount123"})
    try:
        ok(run(kc, f"%connect ws://127.0.0.1:{server.port}", allow_stdin=False))
        ok(run(kc, f"%mount {folder}"))
        assert run(kc, "import wmod\nwmod.hello()").result == "'over wifi'"
        ok(run(kc, "with open('w.bin', 'wb') as f:\n    f.write(bytes(range(256)) * 8)"))
        assert (folder / "w.bin").read_bytes() == ALL_BYTES * 8
        assert "Unmounted" in ok(run(kc, "%umount"))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        server.stop()


def test_too_little_heap_is_one_line(tmp_path: Path) -> None:
    with kernel_on_board(tmp_path / "board", heap="24k") as kc:
        message = one_line(run(kc, f"%mount {tmp_path}"), "MountError")
        assert "too little free memory" in message
        assert run(kc, "import os\nos.getcwd()").result == "'/'"


def test_a_folder_gone_before_a_reset_is_said_and_unmounted(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    with kernel_on_board(tmp_path / "board") as kc:
        ok(run(kc, f"%mount {folder}"))
        folder.rmdir()
        r = run(kc, "%reset")
        assert r.status == "ok", r.text
        assert f"The folder {folder} is no longer mounted" in r.stderr, r.text
        assert run(kc, "import os\nos.getcwd()").result == "'/'"
        stale = run(kc, "open('/remote/x.txt')", timeout=30)  # a stale mount would hang
        assert stale.error["evalue"] == "[Errno 2] ENOENT", stale.error
        assert "Nothing is mounted" in ok(run(kc, "%mount"))


def still_in_step(kc) -> None:
    """The next cell runs as code (not read as a mount answer) and the mount still works."""
    assert ok(run(kc, "print(6 * 7)")).strip() == "42"
    assert ok(run(kc, "print(open('data/log.txt').readline().strip())")).strip() == "one"


def test_a_symlink_loop_is_an_errno_and_the_link_stays_in_step(kc, mounted: Path) -> None:
    (mounted / "loop").symlink_to(mounted / "loop")
    try:
        r = run(kc, "open('loop').read()", timeout=20)
        assert r.status == "error" and r.error["ename"] == "OSError", r.shown
        assert r.error["evalue"] in ("40", "[Errno 40] ELOOP"), r.error
        still_in_step(kc)
    finally:
        (mounted / "loop").unlink()


def test_a_hard_linked_file_is_refused(kc, mounted: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("kept")
    os.link(outside, mounted / "linked.txt")
    try:
        for code in ("open('linked.txt', 'w').write('changed')", "open('linked.txt').read()"):
            r = run(kc, code, timeout=20)
            assert r.status == "error" and r.error["evalue"] == "[Errno 13] EACCES", r.shown
        assert outside.read_text() == "kept"
        still_in_step(kc)
    finally:
        (mounted / "linked.txt").unlink()


def test_a_control_character_in_a_path_is_an_errno_not_a_hang(kc) -> None:
    for name in ("a\x04b.txt", "x\x17y", "\x18Rz"):
        r = run(kc, f"open({name!r}, 'w')", timeout=20)
        assert r.status == "error" and r.error["evalue"] == "[Errno 22] EINVAL", r.shown
    still_in_step(kc)


def test_a_fifo_does_not_block_this_computer(kc, mounted: Path) -> None:
    os.mkfifo(mounted / "fifo")
    try:
        for code in ("open('fifo').read()", "open('fifo', 'w').write('x')"):
            r = run(kc, code, timeout=20)  # EACCES, or ENXIO: no reader at the other end
            assert r.status == "error" and r.error["ename"] == "OSError", r.shown
        still_in_step(kc)
    finally:
        (mounted / "fifo").unlink()
