"""The board panel's kernel side: the `mpkernel.board` comm, driven through jupyter_client as
the extension drives it, against the virtual board (real MicroPython on a PTY)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import random
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CELL_NAMES, cell_names_changed, run
from inprocess import InProcess
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel
from panel_client import PanelClient

from mpkernel.extension.channel import LOCK_WAIT, BoardChannel

#: A board-side `os` that reports 8 KB free (64 KB total) and is otherwise the real one.
SMALL_FS_OS = """\
import sys
_p = sys.path
sys.path = []
import os as _os
sys.path = _p
def __getattr__(name):
    return getattr(_os, name)
def statvfs(p):
    return (1024, 1024, 64, 8, 8, 0, 0, 0, 0, 255)
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The kernel's working folder (where downloads land)."""
    return tmp_path_factory.mktemp("work")


@pytest.fixture(scope="module")
def kernel(work: Path, tmp_path_factory: pytest.TempPathFactory):
    """A kernel in `work`, connected to a virtual board whose filesystem is `root`."""
    root = tmp_path_factory.mktemp("board")
    km, kc = start_new_kernel(kernel_name="micropython", env={**os.environ}, cwd=str(work))
    first = run(kc, f"%connect virtual --root {root}")
    assert first.status == "ok", first.text
    yield km, kc, root
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture
def kc(kernel) -> BlockingKernelClient:
    return kernel[1]


@pytest.fixture
def root(kernel) -> Path:
    return kernel[2]


@pytest.fixture
def panel(kc: BlockingKernelClient) -> Iterator[PanelClient]:
    p = PanelClient(kc)
    yield p
    p.close()


def board_says(kc: BlockingKernelClient, code: str) -> str:
    r = run(kc, code)
    assert r.status == "ok", r.text
    return r.stdout.strip()


def test_status_describes_the_virtual_board(panel: PanelClient) -> None:
    s = panel.ok("status")
    assert s["connected"] and s["kind"] == "virtual" and s["virtual"] is True
    assert s["port"] == "virtual"
    assert "MicroPython" in s["firmware"]
    assert s["free_heap"] > 10_000
    assert s["free_flash"] > 0 and s["total_flash"] >= s["free_flash"]
    assert s["provenance"]["port"]["kind"] == "virtual"  # never passes for a real board


def test_ports_have_usb_ids(panel: PanelClient) -> None:
    ports = panel.ok("ports")["ports"]
    assert isinstance(ports, list)
    for p in ports:
        assert p["device"] and (p["usb_id"] == "-" or ":" in p["usb_id"])


def test_write_list_read_text(panel: PanelClient, kc: BlockingKernelClient, root: Path) -> None:
    text = "print('hello from the panel')\n# ünïcode\n"
    done = panel.ok("write", path="hello.py", text=text)
    assert done["size"] == len(text.encode()) and done["verified"] in ("sha256", "read back")
    assert (root / "hello.py").read_text() == text
    assert board_says(kc, "print(open('hello.py').read())") == text.strip()
    entries = {e["path"]: e for e in panel.ok("ls")["entries"]}
    assert entries["hello.py"] == {"path": "hello.py", "dir": False, "size": len(text.encode())}
    back = panel.ok("read", path="hello.py")
    assert back["text"] == text and "base64" not in back


def test_upload_bytes_lands_byte_exact_with_progress(
    panel: PanelClient, kc: BlockingKernelClient
) -> None:
    data = os.urandom(20_000) + bytes(range(256))
    rid = panel.send("write", [data], path="lib/data/blob.bin", parents=True)
    reply = panel.reply(rid)
    assert reply["ok"], reply.get("error")
    progress = [e for e in panel.events if e["event"] == "progress" and e["id"] == rid]
    assert progress and progress[-1]["done"] == progress[-1]["total"] == len(data)
    digest = board_says(
        kc,
        "import hashlib, binascii\n"
        "print(binascii.hexlify(hashlib.sha256(open('lib/data/blob.bin','rb').read()).digest())"
        ".decode())",
    )
    assert digest == hashlib.sha256(data).hexdigest()
    back = panel.ok("read", path="lib/data/blob.bin")
    assert "text" not in back and base64.b64decode(back["base64"]) == data
    tree = {e["path"]: e for e in panel.ok("ls")["entries"]}
    assert tree["lib/data"]["dir"] and tree["lib/data/blob.bin"]["size"] == len(data)


def test_download_to_working_folder(panel: PanelClient, work: Path) -> None:
    data = bytes(range(256)) * 10
    panel.ok("write", [data], path="dl.bin")
    got = panel.ok("download", path="dl.bin")
    assert got["local"] == "dl.bin" and (work / "dl.bin").read_bytes() == data
    refused = panel.request("download", path="dl.bin", dest="../outside.bin")
    assert not refused["ok"] and "working folder" in refused["error"]
    assert not (work.parent / "outside.bin").exists()


def test_panel_requests_keep_the_cells_globals(panel: PanelClient, kc: BlockingKernelClient):
    """A panel request is not a cell: it leaves the names cells defined on the board alone."""
    panel.ok("write", path="kept.txt", text="kept\n")
    lost = []
    for op, args in [
        ("ls", {}), ("read", {"path": "kept.txt"}), ("status", {}),
        ("download", {"path": "kept.txt", "dest": "kept-dl.txt"}),
        ("write", {"path": "kept2.txt", "text": "two\n"}), ("mkdir", {"path": "keptdir"}),
        ("rename", {"path": "kept2.txt", "to": "kept3.txt"}), ("delete", {"path": "kept3.txt"}),
    ]:  # fmt: skip
        assert run(kc, CELL_NAMES).status == "ok"
        panel.ok(op, **args)
        changed = cell_names_changed(kc)
        if changed:
            lost.append(f"{op}: {changed}")
    assert not lost, lost


def test_mkdir_rename_delete(panel: PanelClient, root: Path) -> None:
    panel.ok("mkdir", path="proj/sub")
    panel.ok("write", path="proj/sub/a.py", text="a = 1\n")
    panel.ok("write", path="proj/b.txt", text="b")
    assert (root / "proj" / "sub" / "a.py").exists()
    clash = panel.request("rename", path="proj/b.txt", to="proj/sub")
    assert not clash["ok"] and "already exists" in clash["error"]
    panel.ok("rename", path="proj/b.txt", to="proj/c.txt")
    assert (root / "proj" / "c.txt").read_text() == "b" and not (root / "proj" / "b.txt").exists()
    gone = panel.ok("delete", path="proj")
    assert gone["removed"] == 4 and not (root / "proj").exists()


def test_errors_are_one_line(panel: PanelClient) -> None:
    for op, args in [
        ("read", {"path": "no/such.py"}),
        ("delete", {"path": "nothing-here"}),
        ("read", {}),
        ("fly", {}),
        ("connect", {"target": "ws://127.0.0.1:1"}),
    ]:
        reply = panel.request(op, **args)
        assert not reply["ok"] and not reply["busy"], (op, reply)
        assert reply["error"] and "\n" not in reply["error"] and "Traceback" not in reply["error"]
    assert "WebREPL" in panel.request("connect", target="ws://127.0.0.1:1")["error"]


def test_requests_never_interleave_with_a_cell(panel: PanelClient, kc: BlockingKernelClient):
    """A request sent while a cell runs is answered after the cell, or as busy, never during."""
    cell = kc.execute("import time\nprint('cell-start')\ntime.sleep(1.5)\nprint('cell-end')")
    rid = panel.send("ls")
    order: list[str] = []
    while True:
        msg = kc.get_iopub_msg(timeout=30)
        c = msg["content"]
        if msg["msg_type"] == "stream":
            order += [w for w in ("cell-start", "cell-end") if w in c["text"]]
        elif msg["msg_type"] == "comm_msg" and c.get("comm_id") == panel.comm_id:
            data = c["data"]
            order.append(data.get("event") or ("reply" if data.get("id") == rid else "other"))
            if data.get("id") == rid:
                assert data["ok"] or data["busy"], data
                break
    kc.get_shell_msg(timeout=30)  # the cell's execute_reply
    assert order.index("reply") > order.index("cell-end"), order
    assert order.index("busy") < order.index("cell-start") < order.index("idle"), order
    assert cell


def test_state_follows_magics_and_panel(panel: PanelClient, kc: BlockingKernelClient, root):
    r = run(kc, "%disconnect")
    states = [m["content"]["data"] for m in r.messages if m["msg_type"] == "comm_msg"]
    assert {"event": "state", "state": {"connected": False}} in states
    assert panel.ok("status") == {"connected": False}
    assert "Not connected" in panel.request("ls")["error"]
    s = panel.ok("connect", target="virtual")
    assert s["connected"] and s["virtual"]
    assert panel.wait_event("state")["state"]["connected"]
    r = run(kc, "x = 41\nprint(x + 1)")
    assert "Connected to" in r.stdout and "42" in r.stdout  # announced by the next cell
    # reconnect to the module's board folder, for the tests that follow
    assert run(kc, f"%connect virtual --root {root}").status == "ok"


def test_soft_reset_from_panel(panel: PanelClient, kc: BlockingKernelClient) -> None:
    assert run(kc, "y = 5").status == "ok"
    done = panel.ok("reset", hard=False)
    assert done["connected"]
    assert panel.wait_event("reset") == {"event": "reset", "hard": False}
    r = run(kc, "print(y)")
    assert r.error and r.error["ename"] == "NameError"


def test_hard_reset_from_panel_shows_boot_output(
    panel: PanelClient, kc: BlockingKernelClient, root: Path
) -> None:
    panel.ok("write", path="main.py", text="print('main says hi')\n")
    try:
        done = panel.ok("reset", hard=True)
        assert "main says hi" in done["printed"]
        assert "main says hi" in panel.wait_event("output")["text"]
        assert panel.wait_event("reset")["hard"] is True
        assert board_says(kc, "print(6 * 7)") == "42"
    finally:
        panel.ok("delete", path="main.py")


def test_upload_bigger_than_free_space_is_refused(
    panel: PanelClient, kc: BlockingKernelClient, tmp_path: Path
) -> None:
    small = tmp_path / "small-board"
    (small / "lib").mkdir(parents=True)
    (small / "lib" / "os.py").write_text(SMALL_FS_OS)
    assert run(kc, f"%connect virtual --root {small}").status == "ok"
    try:
        assert panel.ok("status")["free_flash"] == 8192
        refused = panel.request("write", [b"x" * 9000], path="big.bin")
        assert not refused["ok"] and "do not fit" in refused["error"]
        assert sorted(p.name for p in small.iterdir()) == ["lib"]  # nothing written, no temp
        assert panel.ok("write", [b"y" * 4000], path="fits.bin")["size"] == 4000
        assert (small / "fits.bin").read_bytes() == b"y" * 4000
    finally:
        assert run(kc, "%connect virtual").status == "ok"


def test_panel_reopens_after_kernel_restart(kernel) -> None:
    km: KernelManager = kernel[0]
    kc: BlockingKernelClient = kernel[1]
    km.restart_kernel(now=True)
    kc.wait_for_ready(timeout=60)
    panel = PanelClient(kc)
    assert panel.ok("status") == {"connected": False}
    assert panel.ok("connect", target="virtual")["connected"]
    assert panel.ok("ls")["entries"] == []  # a new virtual board: an empty folder
    panel.close()


def test_console_gets_what_the_board_prints_between_cells(
    panel: PanelClient, kc: BlockingKernelClient
) -> None:
    panel.ok("status")  # the panel is open before the board starts printing
    code = (
        "import _thread, time\n"
        "def _ticks():\n"
        "    for i in range(4):\n"
        "        time.sleep(0.3)\n"
        "        print('console tick', i)\n"
        "_thread.start_new_thread(_ticks, ())"
    )
    assert run(kc, code).status == "ok"
    seen = ""
    while "console tick 3" not in seen:
        seen += panel.wait_event("output", timeout=30)["text"]
    assert [f"console tick {i}" for i in range(4)] == [
        line for line in seen.splitlines() if line.startswith("console tick")
    ]
    assert board_says(kc, "print(2)") == "2"


def test_download_never_writes_through_a_link(
    panel: PanelClient, work: Path, tmp_path: Path
) -> None:
    """A linked folder in the working folder, or a link planted as NAME.part, cannot make a
    download write outside the working folder."""
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep")
    panel.ok("write", path="dl.txt", text="from the board")
    (work / "linked").symlink_to(outside)
    (work / "planted.txt.part").symlink_to(victim)
    (work / "pointer.txt").symlink_to(victim)
    try:
        refused = panel.request("download", path="dl.txt", dest="linked/dl.txt")
        assert not refused["ok"] and "outside the working folder" in refused["error"], refused
        refused = panel.request("download", path="dl.txt", dest="pointer.txt")
        assert not refused["ok"] and "outside the working folder" in refused["error"], refused
        panel.ok("download", path="dl.txt", dest="planted.txt")
        assert (work / "planted.txt").read_text() == "from the board"
        assert not (work / "planted.txt").is_symlink()
        assert not os.path.lexists(work / "planted.txt.part")
        assert victim.read_text() == "keep" and sorted(os.listdir(outside)) == ["victim.txt"]
    finally:
        for name in ("linked", "planted.txt.part", "pointer.txt", "planted.txt"):
            with contextlib.suppress(FileNotFoundError):
                (work / name).unlink()


def raw_reply(panel: PanelClient, data: object, timeout: float = 30) -> dict:
    """Send `data` as a comm message's data as it is; the next reply (events kept aside)."""
    panel._send("comm_msg", {"data": data})
    deadline = time.monotonic() + timeout
    while True:
        got = panel._next_data(deadline)
        if "event" in got:
            panel.events.append(got)
        else:
            return got


@pytest.mark.parametrize(
    "data",
    [[1, 2], "ls", 7, None, {"id": 1, "op": ["ls"]}, {"id": 2, "op": {"a": 1}},
     {"id": 3, "op": None}, {"id": [1], "op": "status"}],
)  # fmt: skip
def test_malformed_requests_get_an_error_reply(panel: PanelClient, data: object) -> None:
    reply = raw_reply(panel, data)
    assert reply["ok"] is False or data == {"id": [1], "op": "status"}, reply
    if not reply["ok"]:
        assert "\n" not in reply["error"] and "see log" not in reply["error"], reply
    assert panel.ok("status")["connected"]  # and the channel still answers


@pytest.mark.parametrize("baud", ["fast", 10**30, -5, 1.5, True, [115200]])
def test_bad_values_are_one_line_user_errors(panel: PanelClient, baud: object) -> None:
    reply = panel.request("connect", target="virtual", baud=baud)
    assert not reply["ok"] and reply["error"].startswith("baud "), reply
    assert "see log" not in reply["error"] and "\n" not in reply["error"]
    assert panel.ok("status")["connected"]


def test_a_huge_path_is_not_echoed_back(panel: PanelClient) -> None:
    huge = "/" + "a" * 1_000_000
    requests = [
        ("read", {"path": huge}),
        ("delete", {"path": huge}),
        (huge, {}),
        ("rename", {"path": "x", "to": huge}),
        ("download", {"path": "x", "dest": huge}),
    ]
    for op, args in requests:
        reply = panel.request(op, **args)
        assert not reply["ok"] and len(reply["error"]) < 300, (op, len(reply["error"]))


def test_writing_dot_is_refused_and_leaves_nothing(panel: PanelClient, root: Path) -> None:
    for path in (".", "/.", "lib/..", "./"):
        reply = panel.request("write", path=path, text="x")
        assert not reply["ok"] and "not '.' or '..'" in reply["error"], (path, reply)
    assert not [p.name for p in root.iterdir() if "mpk-part" in p.name]


def children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if (
                proc.name.isdigit()
                and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid
            ):
                found.append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def board_child(kernel_pid: int) -> int:
    """The MicroPython process of the kernel's virtual board (its relay's child, forked)."""
    for relay in children(kernel_pid):
        if b"mpkernel.board.virtual.board" in Path(f"/proc/{relay}/cmdline").read_bytes():
            for child in children(relay):
                return child
    raise AssertionError("no board process")


def test_a_board_killed_mid_upload_is_said_so(panel: PanelClient, kernel) -> None:
    km, _, _ = kernel
    rid = panel.send("write", [os.urandom(400_000)], path="killed.bin")
    deadline = time.monotonic() + 60
    while not any(e.get("event") == "progress" and e.get("id") == rid for e in panel.events):
        data = panel._next_data(deadline)
        assert "event" in data or data.get("id") != rid, data  # still under way
        panel.events.append(data)
    os.kill(board_child(km.provisioner.process.pid), signal.SIGKILL)
    reply = panel.reply(rid, timeout=90)  # at once, or after the put's 30 s of silence
    assert not reply["ok"], reply
    assert "cable" not in reply["error"], reply["error"]
    assert re.search(r"reset|stopped answering|broke", reply["error"]), reply["error"]
    assert "killed.bin" not in [e["path"] for e in panel.ok("ls")["entries"]]


def test_200_random_requests_among_cells_are_all_answered_with_the_link_in_step(
    panel: PanelClient, kc: BlockingKernelClient
) -> None:
    rng = random.Random(26)
    sent, cells = [], []
    for i in range(200):
        name = f"r{rng.randrange(5)}.txt"
        op, args = rng.choice([
            ("status", {}), ("ls", {}), ("read", {"path": name}), ("delete", {"path": name}),
            ("write", {"path": name, "text": f"{i}\n"}), ("mkdir", {"path": f"d{i % 3}"}),
            ("rename", {"path": name, "to": f"m{i}.txt"}), ("read", {"path": "/../x"}),
            ("no-such-op", {}), ("connect", {"target": "virtual", "baud": "fast"}),
        ])  # fmt: skip
        sent.append(panel.send(op, **args))
        if i % 10 == 0:
            cells.append(kc.execute(f"print({i} * 3)"))
    for rid in sent:
        reply = panel.reply(rid, timeout=120)
        assert reply["ok"] or reply["error"], reply
        assert "see the log" not in reply.get("error", ""), reply
    for msg_id in cells:
        while True:
            shell = kc.get_shell_msg(timeout=120)
            if shell["parent_header"].get("msg_id") == msg_id:
                assert shell["content"]["status"] == "ok", shell["content"]
                break
    assert board_says(kc, "print(6 * 7)") == "42"  # the next cell runs as itself


class SentComm:
    """A comm whose replies are kept (the in-process channel's other end)."""

    comm_id = "in-process"

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, data: dict) -> None:
        self.sent.append(data)


def test_a_request_waits_for_the_idle_readers_slow_read(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The idle reader holds the board lock for one read; on a busy machine that read can take
    longer than a request's LOCK_WAIT. The request then waits for the read to end (an upload
    dropped on the panel used to fail with "The board is busy"); anything else holding the
    lock longer still gets "busy"."""
    surface = InProcess()
    surface.connect_virtual(tmp_path / "board")
    idle = surface.connection.idle
    read = idle._read
    in_slow_read = threading.Event()

    def slow_read() -> bytes:
        if not in_slow_read.is_set():
            in_slow_read.set()
            time.sleep(LOCK_WAIT + 1.5)  # this one read, as a starved thread does it
        return read()

    monkeypatch.setattr(idle, "_read", slow_read)
    channel, comm = BoardChannel(surface), SentComm()
    try:
        idle.start()
        assert in_slow_read.wait(30)
        channel._request(comm, {"content": {"data": {"id": 1, "op": "ls"}}})
        assert comm.sent[-1]["id"] == 1 and comm.sent[-1]["ok"], comm.sent[-1]

        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with surface.board_lock:
                held.set()
                release.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(30)
        channel._request(comm, {"content": {"data": {"id": 2, "op": "ls"}}})
        release.set()
        holder.join(30)
        assert comm.sent[-1] == {"id": 2, "ok": False, "busy": True, "error": "The board is busy."}
    finally:
        idle.stop()
        surface.disconnect()
