"""The browser link end to end, without a browser: a real `jupyter server` with mpkernel's
server extension, kernels started through its REST API, and tests/browser_page.py as the page
(the same frames and endpoint as the TypeScript page) bridging to a real virtual board's PTY
paced at 115200 baud."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_page import BrowserPage, PageRefused
from conftest import Run, run
from notebook_server import JupyterServer, jupyter_server

from mpkernel.board.links import link_frames as lf
from mpkernel.board.virtual.board import VirtualBoard

pytestmark = pytest.mark.timeout(400)


def ok(r: Run) -> str:
    assert r.status == "ok", r.text + str(r.error)
    return r.shown


def one_line(r: Run, *needles: str) -> str:
    """The cell failed with one line (no traceback of ours) holding every needle."""
    assert r.status == "error", r.shown
    err = r.error
    assert err is not None and len(err["traceback"]) == 1, err
    assert "Traceback" not in err["traceback"][0]
    for needle in needles:
        assert needle in err["evalue"], err["evalue"]
    return str(err["evalue"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    with jupyter_server(tmp_path_factory.mktemp("notebooks")) as srv:
        yield srv


class Link:
    """A kernel of the server, a virtual board, and the page that holds the board."""

    def __init__(self, server: JupyterServer, root: Path, **page_options: object) -> None:
        self.server = server
        self.board = VirtualBoard(root=root)
        self.kernel_id = server.start_kernel()
        self.kc = server.client(self.kernel_id)
        self.page = self.open_page(**page_options)

    def open_page(self, port: str | None = None, **options: object) -> BrowserPage:
        return BrowserPage(
            self.server.url,
            self.kernel_id,
            port or self.board.port,
            self.server.token,
            on_reset=self.board.press_reset,
            **options,  # type: ignore[arg-type]
        ).start()

    def connect(self, line: str = "%connect browser") -> str:
        return ok(run(self.kc, line, timeout=60))

    def stop(self) -> None:
        self.page.stop()
        self.kc.stop_channels()
        self.server.shutdown_kernel(self.kernel_id)
        self.board.stop()


@pytest.fixture(scope="module")
def link(server: JupyterServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Link]:
    """One kernel on one page-held board, shared by the tests that keep it working."""
    held = Link(server, tmp_path_factory.mktemp("board"))
    held.connect()
    yield held
    held.stop()


@pytest.fixture
def fresh(server: JupyterServer, tmp_path: Path) -> Iterator[Link]:
    """A kernel and page of their own, for tests that break the link."""
    held = Link(server, tmp_path / "board")
    yield held
    held.stop()


# -- working through the page -----------------------------------------------------------------


def test_cells_stream_values_and_errors(link: Link) -> None:
    r = run(link.kc, "import time\nfor i in range(3):\n    print('tick', i)\n    time.sleep(0.4)\n")
    assert r.stdout == "tick 0\ntick 1\ntick 2\n"
    ticks = [t for m, t in zip(r.messages, r.times, strict=True) if m["msg_type"] == "stream"]
    assert ticks[-1] - ticks[0] > 0.5  # streamed as printed, not at the end
    assert run(link.kc, "x = 6\nx * 7").result == "42"
    r = run(link.kc, "1/0")
    assert r.error is not None and r.error["ename"] == "ZeroDivisionError"
    big = "y = '" + "z" * 20_000 + "'\nlen(y)"  # a 20 KB cell: raw-paste done by the page
    assert run(link.kc, big, timeout=60).result == "20000"
    # The page got the two windows the board grants at the start (its window size, then a
    # grant the kernel had read already): with one, its line would idle after every window.
    pastes = [f for f in link.page.from_kernel if f[:1] == lf.PASTE_GRANTED]
    assert pastes, [f[:1] for f in link.page.from_kernel]
    window, credit = struct.unpack("<HH", pastes[-1][1:5])
    assert window > 0 and credit == 2 * window


def test_bare_connect_picks_the_pages_board(fresh: Link) -> None:
    """A tutorial's `%connect` (no port) uses the board a page holds for this kernel, not
    the virtual board of the machine the kernel runs on (a hub)."""
    out = fresh.connect("%connect")
    assert "via the board on this browser's computer" in out, out
    assert "using the virtual board" not in out, out
    assert "USB" in fresh.connect("%connect")  # again: the same page's board
    assert run(fresh.kc, "1 + 1").result == "2"


def test_provenance_says_browser_serial_and_virtual(link: Link) -> None:
    shown = ok(run(link.kc, "%connect browser", timeout=60))
    assert "Web Serial, USB 1a86:7523" in shown
    assert "via browser-serial to the virtual board" in shown


def test_interrupt_a_busy_loop(link: Link) -> None:
    run(link.kc, "kept = 11")
    timer = threading.Timer(1.5, link.server.interrupt, [link.kernel_id])
    timer.start()
    start = time.monotonic()
    r = run(link.kc, "while True:\n    pass", timeout=30)
    assert r.reply["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - start < 10
    assert any(f == lf.INTERRUPT for f in link.page.from_kernel)
    assert run(link.kc, "kept").result == "11"


def test_input_is_answered_from_the_notebook(link: Link) -> None:
    def hook(msg: dict[str, object]) -> None:
        link.kc.input("Ada")

    r = run(link.kc, "n = input('Name? ')\nprint('Hi', n)", stdin_hook=hook, allow_stdin=True)
    assert r.stdout == "Hi Ada\n", r.text


def test_put_get_and_ls_with_sha256(link: Link, tmp_path: Path) -> None:
    data = os.urandom(64 * 1024)
    (tmp_path / "blob.bin").write_bytes(data)
    shown = ok(run(link.kc, f"%put {tmp_path / 'blob.bin'} blob.bin", timeout=120))
    assert "verified by sha256" in shown
    assert "blob.bin" in ok(run(link.kc, "%ls"))
    ok(run(link.kc, f"%get blob.bin {tmp_path / 'back.bin'}", timeout=120))
    back = (tmp_path / "back.bin").read_bytes()
    assert hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest()
    assert (link.board.root / "blob.bin").read_bytes() == data
    assert any(f[:1] == lf.WINDOWED for f in link.page.from_kernel)  # the window kept by the page


def test_put_through_a_page_that_keeps_no_window(fresh: Link, tmp_path: Path) -> None:
    fresh.page.stop()
    fresh.page = fresh.open_page(features=())
    fresh.connect()
    data = os.urandom(8 * 1024)
    (tmp_path / "small.bin").write_bytes(data)
    assert "verified by sha256" in ok(run(fresh.kc, f"%put {tmp_path / 'small.bin'} s.bin"))
    assert (fresh.board.root / "s.bin").read_bytes() == data
    kinds = {f[:1] for f in fresh.page.from_kernel}
    # A page that lists no features gets the frames every page knows (`P`, not `Q`).
    assert lf.WINDOWED not in kinds and lf.PASTE_GRANTED not in kinds and lf.PASTE in kinds


def test_mount_through_the_page(link: Link, tmp_path: Path) -> None:
    (tmp_path / "sensor.py").write_text("READING = 21\n")
    ok(run(link.kc, f"%mount {tmp_path}", timeout=60))
    assert run(link.kc, "import sensor\nsensor.READING * 2").result == "42"
    ok(run(link.kc, "%umount", timeout=60))


def test_soft_and_hard_reset(link: Link) -> None:
    run(link.kc, "gone = 1")
    assert "Soft reset done" in ok(run(link.kc, "%reset", timeout=60))
    assert run(link.kc, "'gone' in globals()").result == "False"
    resets = link.page.resets
    run(link.kc, "gone = 1")
    shown = ok(run(link.kc, "%reset --hard", timeout=60))
    assert "Hard reset done" in shown
    assert link.page.resets == resets + 1  # DTR/RTS through the page pressed the reset
    assert run(link.kc, "'gone' in globals()").result == "False"
    assert run(link.kc, "1 + 1").result == "2"


# -- the link ending, and pages that may not attach -------------------------------------------


def test_page_closing_mid_cell_is_one_line(fresh: Link) -> None:
    fresh.connect()
    closing = threading.Timer(1.5, fresh.page.close)
    closing.start()
    start = time.monotonic()
    r = run(fresh.kc, "import time\nwhile True:\n    print('.')\n    time.sleep(0.1)", timeout=60)
    closing.join(60)
    one_line(r, "The page that held the board closed")
    assert time.monotonic() - start < 20
    # the next cell says why (the user may not have seen the cell's end: its tab was gone)
    one_line(run(fresh.kc, "1 + 1"), "Not connected", "The page that held the board closed")
    # until a board is connected again
    fresh.page.stop()  # the tab's port closed with it
    fresh.page = fresh.open_page()  # the user comes back: a new tab opens the board
    assert "Web Serial" in fresh.connect("%connect")
    assert run(fresh.kc, "1 + 1").result == "2"


def test_unplug_mid_transfer_is_one_line(fresh: Link, tmp_path: Path) -> None:
    fresh.connect()
    (tmp_path / "big.bin").write_bytes(os.urandom(48 * 1024))
    unplugging = threading.Timer(1.5, fresh.page.unplug, ["The board was unplugged."])
    unplugging.start()
    r = run(fresh.kc, f"%put {tmp_path / 'big.bin'} big.bin", timeout=60)
    unplugging.join(60)
    one_line(r, "The board was unplugged.")
    assert not (fresh.board.root / "big.bin").exists()


def test_a_silent_page_is_one_line(fresh: Link) -> None:
    fresh.connect()
    fresh.page.freeze()
    start = time.monotonic()
    one_line(run(fresh.kc, "1 + 1", timeout=60), "stopped answering")
    assert time.monotonic() - start < 30


def test_second_page_refused(fresh: Link) -> None:
    # The first page was told at once that the link is its own (`A`), not left to guess
    # from a silence; the second is told it is refused, and never that it holds the link.
    assert fresh.page.attached and not fresh.page.ended
    second = BrowserPage(fresh.server.url, fresh.kernel_id, fresh.board.port, fresh.server.token)
    with pytest.raises(PageRefused, match="Another tab holds"):
        second.start()
    assert not second.attached
    fresh.connect()  # the first page still works
    assert run(fresh.kc, "3 * 3").result == "9"


def test_pages_without_token_or_for_other_kernels_refused(fresh: Link) -> None:
    url, port = fresh.server.url, fresh.board.port
    with pytest.raises(PageRefused, match="404"):
        BrowserPage(url, "no-such-kernel", port, fresh.server.token).start()
    with pytest.raises(PageRefused, match="403"):
        BrowserPage(url, fresh.kernel_id, port, None).start()
    with pytest.raises(PageRefused, match="403"):
        BrowserPage(url, fresh.kernel_id, port, "wrong-token").start()
    # A browser sends the server's cookie with any page's request: the origin must match.
    cookie = fresh.server.login_cookie()
    with pytest.raises(PageRefused, match="403"):
        BrowserPage(
            url, fresh.kernel_id, port, None, cookie=cookie, origin="http://x.example"
        ).start()
    # The server's own page gets through (to be told the board is held by the first page).
    with pytest.raises(PageRefused, match="Another tab"):
        BrowserPage(url, fresh.kernel_id, port, None, cookie=cookie, origin=url.rstrip("/")).start()


def test_out_of_order_and_unknown_frames(fresh: Link) -> None:
    fresh.connect()
    fresh.page.send(lf.PASTED)  # an answer nothing asked for
    one_line(run(fresh.kc, "1 + 1", timeout=30), "did not ask for")
    fresh.page.send(b"Z")  # a frame type the page may not send
    assert fresh.page.wait_closed(10)
    assert any("does not know" in line for line in fresh.page.ended)


def test_frames_after_detach_reach_no_kernel(fresh: Link) -> None:
    fresh.connect()
    ok(run(fresh.kc, "%disconnect"))
    deadline = time.monotonic() + 10
    while lf.RELEASE not in fresh.page.from_kernel and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lf.RELEASE in fresh.page.from_kernel
    fresh.page.send(lf.DATA + b"stale bytes")
    fresh.page.send(lf.SIGNALS_SET)
    fresh.connect()  # the same page, paired again: none of that reached the new connection
    r = run(fresh.kc, "print('clean')")
    assert r.stdout == "clean\n", r.text


def test_kernel_restart_keeps_the_page(fresh: Link) -> None:
    fresh.connect()
    fresh.server.api("POST", f"api/kernels/{fresh.kernel_id}/restart")
    fresh.kc.stop_channels()
    fresh.kc = fresh.server.client(fresh.kernel_id)
    deadline = time.monotonic() + 20
    while lf.RELEASE not in fresh.page.from_kernel and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lf.RELEASE in fresh.page.from_kernel  # the kernel let go as it shut down
    assert not fresh.page.ended and not fresh.page.wait_closed(0.1)  # the page stays
    fresh.connect()
    assert run(fresh.kc, "2 + 3").result == "5"


def test_port_that_is_not_a_board(fresh: Link) -> None:
    fresh.page.stop()
    master, slave = os.openpty()
    try:
        fresh.page = fresh.open_page(port=os.ttyname(slave))
        one_line(run(fresh.kc, "%connect browser", timeout=60), "did not answer like MicroPython")
        stop = threading.Event()

        def garbage() -> None:
            while not stop.is_set():
                os.write(master, bytes(range(128, 256)))
                time.sleep(0.05)

        threading.Thread(target=garbage, daemon=True).start()
        try:
            one_line(run(fresh.kc, "%connect browser", timeout=60), "did not answer like")
        finally:
            stop.set()
    finally:
        os.close(master)
        os.close(slave)


def test_baud_the_port_refuses(fresh: Link) -> None:
    r = run(fresh.kc, "%connect browser --baud 123456", timeout=60)
    one_line(r, "refused 123456 baud")
    fresh.connect()  # the port still works at its old rate
    assert run(fresh.kc, "7 * 6").result == "42"


def test_no_page_is_one_line(server: JupyterServer, tmp_path: Path) -> None:
    kernel_id = server.start_kernel()
    kc = server.client(kernel_id)
    try:
        one_line(run(kc, "%connect browser", timeout=60), "No page holds a board")
    finally:
        kc.stop_channels()
        server.shutdown_kernel(kernel_id)


def test_a_deep_runtime_folder(tmp_path: Path) -> None:
    """A home longer than a Unix socket's 107-byte path (The Littlest JupyterHub's
    /home/jupyter-NAME): the page still attaches, a cell runs, the socket stays private."""
    runtime = tmp_path / ("runtime-" + "d" * 50) / ("of-a-long-home-" + "h" * 40)
    runtime.mkdir(parents=True, mode=0o700)
    assert len(os.fsencode(lf.socket_path_for(runtime, "0" * 36))) > 107
    (tmp_path / "notebooks").mkdir()
    with jupyter_server(tmp_path / "notebooks", runtime) as srv:
        held = Link(srv, tmp_path / "board")
        try:
            path = lf.socket_path_for(runtime, held.kernel_id)
            assert path.stat().st_mode & 0o777 == 0o600
            held.connect()
            assert run(held.kc, "6 * 7").result == "42"
            held.page.stop()
            deadline = time.monotonic() + 30
            while path.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not path.exists(), "the socket outlived its page"
            assert [p.name for p in runtime.iterdir() if "mpkernel" in p.name] == []
        finally:
            held.stop()


@pytest.mark.skipif(
    os.getuid() != 0 or not os.path.exists("/usr/bin/python3"), reason="setpriv needs root"
)
def test_another_account_cannot_reach_the_socket(fresh: Link) -> None:
    path = lf.socket_path_for(fresh.server.runtime, fresh.kernel_id)
    assert path.exists()
    assert path.stat().st_mode & 0o777 == 0o600
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    print('refused')\n"
        "else:\n    print('connected')\n"
    )
    who = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    out = subprocess.run(
        [*who, "/usr/bin/python3", "-c", probe, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.stdout.strip() == "refused", out.stdout + out.stderr
    fresh.connect()  # and this kernel still reaches its board
    assert run(fresh.kc, "1 + 2").result == "3"
