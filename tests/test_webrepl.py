"""WebREPL: the test server checked by an independent client, then the kernel over it."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from conftest import as_cell, assert_interrupt_keeps_state, run, start_kernel
from webrepl_server import HEADER, WebReplServer
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import connect as ws_connect

PASSWORD = "pass123"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_idle(srv: WebReplServer, timeout: float = 5.0) -> None:
    """Until the server has no client (a closed connection is fully gone)."""
    end = time.monotonic() + timeout
    while srv.client is not None and time.monotonic() < end:
        time.sleep(0.02)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[WebReplServer]:
    srv = WebReplServer(tmp_path / "board", password=PASSWORD)
    yield srv
    srv.stop()


# -- an independent client (the `websockets` package) against the server ----------------


class Client:
    """A minimal WebREPL client written from the protocol notes, on `websockets`."""

    def __init__(self, url: str) -> None:
        self.ws = ws_connect(url, ping_interval=None, max_size=None, legacy=True)

    def recv_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        out = b""
        end = time.monotonic() + timeout
        while marker not in out:
            out += self.ws.recv(timeout=max(end - time.monotonic(), 0.01), decode=False)
        return out

    def login(self, password: str) -> bytes:
        assert self.recv_until(b"Password: ") == b"Password: "
        self.ws.send(password + "\r")
        return self.recv_until(b"\r\n", timeout=5) + self.rest()

    def rest(self) -> bytes:
        try:
            return self.ws.recv(timeout=0.5, decode=False)
        except (TimeoutError, ConnectionClosed):
            return b""

    def resp(self) -> tuple[bytes, int]:
        data = self.ws.recv(timeout=5, decode=False)
        return struct.unpack("<2sH", data[:4])

    def put(self, name: str, data: bytes) -> None:
        raw = name.encode()
        self.ws.send(HEADER.pack(b"WA", 1, 0, 0, len(data), len(raw), raw))
        assert self.resp() == (b"WB", 0)
        for i in range(0, len(data), 1024):
            self.ws.send(data[i : i + 1024])
        assert self.resp() == (b"WB", 0)

    def get(self, name: str) -> tuple[bytes, list[int]]:
        raw = name.encode()
        self.ws.send(HEADER.pack(b"WA", 2, 0, 0, 0, len(raw), raw))
        assert self.resp() == (b"WB", 0)
        data, sizes = b"", []
        while True:
            self.ws.send(b"\x00")
            frame = self.ws.recv(timeout=5, decode=False)
            (n,) = struct.unpack("<H", frame[:2])
            sizes.append(n)
            if n == 0:
                break
            data += frame[2:]
            assert len(frame) - 2 == n
        assert self.resp() == (b"WB", 0)
        return data, sizes

    def close(self) -> None:
        self.ws.close()


def test_server_speaks_webrepl_to_an_independent_client(server: WebReplServer) -> None:
    c = Client(server.url)
    assert c.login(PASSWORD).startswith(b"\r\nWebREPL connected\r\n>>> ")
    c.ws.send("print(1+1)\r")
    assert b"2" in c.recv_until(b">>> ").split(b"print(1+1)", 1)[1]
    # A second client is turned away while the first is connected.
    with pytest.raises((WebSocketException, OSError)):  # refused, closed, or never answered
        other = Client(server.url)
        other.recv_until(b"Password: ", timeout=2)
    # The binary file protocol: put, get (256-byte chunks), version.
    data = bytes(range(256)) * 5 + b"tail"
    c.put("indep.bin", data)
    assert (server.root / "indep.bin").read_bytes() == data
    got, sizes = c.get("indep.bin")
    assert got == data and sizes == [256] * 5 + [4, 0]
    c.ws.send(HEADER.pack(b"WA", 3, 0, 0, 0, 0, b""))
    assert len(c.ws.recv(timeout=5, decode=False)) == 3
    c.ws.send("import os\r")
    c.ws.send("print(os.stat('indep.bin')[6])\r")
    assert b"1284" in c.recv_until(b"1284")
    c.close()
    wait_idle(server)
    # A wrong password: Access denied, then the connection closes.
    c = Client(server.url)
    assert b"Access denied" in c.login("nope")
    with pytest.raises(ConnectionClosed):
        for _ in range(5):
            c.ws.recv(timeout=2)
    wait_idle(server)
    # A failed open ends the session.
    c = Client(server.url)
    c.login(PASSWORD)
    c.ws.send(HEADER.pack(b"WA", 2, 0, 0, 0, 7, b"missing"))
    with pytest.raises(ConnectionClosed):
        c.ws.recv(timeout=5)
    wait_idle(server)
    # A name outside the board's folder is a failed open too (nothing of the host is read).
    (server.root.parent / "host-secret.txt").write_text("not the board's")
    c = Client(server.url)
    c.login(PASSWORD)
    name = b"../host-secret.txt"
    c.ws.send(HEADER.pack(b"WA", 2, 0, 0, 0, len(name), name))
    with pytest.raises(ConnectionClosed):
        c.ws.recv(timeout=5)


# -- the kernel over WebREPL -------------------------------------------------------------


@pytest.fixture(scope="module")
def wserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebReplServer]:
    srv = WebReplServer(tmp_path_factory.mktemp("wboard"), password=PASSWORD)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def wkernel(wserver: WebReplServer) -> Iterator[tuple]:
    km, kc = start_kernel({"MPKERNEL_WEBREPL_PASSWORD": PASSWORD})
    r = run(kc, f"%connect {wserver.url}", allow_stdin=False)
    assert r.status == "ok", r.text
    assert "WebREPL" in r.text
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture
def wkc(wkernel: tuple):
    return wkernel[1]


def test_cells_stream_values_and_errors(wkc) -> None:
    r = run(wkc, "import time\nfor i in range(3):\n    print(i)\n    time.sleep(0.3)")
    assert r.status == "ok" and r.stdout == "0\n1\n2\n"
    assert r.times[-1] - r.times[0] > 0.4  # streamed, not all at the end
    assert run(wkc, "x = 6\nx * 7").result == "42"
    r = run(wkc, "1/0")
    assert r.status == "error"
    assert r.error["ename"] == "ZeroDivisionError" and "divide" in r.error["evalue"]
    assert run(wkc, "'ok'").result == "'ok'"


def test_provenance_records_webrepl(wkc, wserver: WebReplServer) -> None:
    r = run(wkc, "%provenance")
    blob = json.dumps([m["content"] for m in r.messages])
    assert '"kind": "webrepl"' in blob
    assert wserver.url.split("//")[1] in blob


@pytest.mark.timing
def test_interrupt_over_webrepl(wkernel) -> None:
    assert_interrupt_keeps_state(*wkernel, within=3.0)


def test_completion_over_webrepl(wkc) -> None:
    run(wkc, "my_wireless_var = 3")
    wkc.complete("my_wirel", 8)
    assert wkc.get_shell_msg(timeout=10)["content"]["matches"] == ["my_wireless_var"]


def test_large_cell(wkc, wserver: WebReplServer) -> None:
    lines = [f"v{i} = {i}  # {'pad ' * 8}" for i in range(500)]
    code = "\n".join(lines) + "\nprint(sum([" + ", ".join(f"v{i}" for i in range(500)) + "]))"
    assert len(code.encode()) > 20_000
    r = run(wkc, code, timeout=60)
    assert r.status == "ok", r.text
    assert r.stdout.strip() == str(sum(range(500)))
    texts = [p for kind, p in wserver.received if kind == "text"]
    assert max(len(p) for p in texts) <= 255


def test_put_get_every_byte(wkc, wserver: WebReplServer, tmp_path: Path) -> None:
    data = bytes(range(256)) * 200 + bytes(reversed(range(256)))
    local = tmp_path / "all.bin"
    local.write_bytes(data)
    before = len(wserver.received)
    r = run(wkc, f"%put {local} all.bin", timeout=60)
    assert r.status == "ok", r.shown
    assert "webrepl" in r.shown and "/s" in r.shown and "sha256" in r.shown
    assert (wserver.root / "all.bin").read_bytes() == data
    frames = wserver.received[before:]
    assert any(k == "binary" and p.startswith(b"WA\x01") for k, p in frames)
    back = tmp_path / "back.bin"
    r = run(wkc, f"%get all.bin {back}", timeout=60)
    assert r.status == "ok", r.shown
    assert back.read_bytes() == data
    assert "webrepl" in r.shown and "/s" in r.shown
    r = run(wkc, "%ls -l")
    assert "all.bin" in r.stdout and ".mpk-part" not in r.stdout


def test_long_name_is_refused_before_sending(wkc, wserver: WebReplServer, tmp_path: Path) -> None:
    local = tmp_path / "x.txt"
    local.write_text("x")
    before = len(wserver.received)
    r = run(wkc, f"%put {local} {'n' * 64}")
    assert r.status == "error" and "63" in r.error["evalue"]
    assert len(r.error["traceback"]) == 1
    assert not any(k == "binary" for k, _ in wserver.received[before:])
    assert run(wkc, "'still here'").result == "'still here'"  # the session lives on


def test_reset_reconnects(wkc, wserver: WebReplServer) -> None:
    run(wkc, "gone_soon = 1")
    count = wserver.connections
    r = run(wkc, "%reset", timeout=30)
    assert r.status == "ok", r.text
    assert "reconnected" in r.stdout.lower()
    assert wserver.connections == count + 1
    r = run(wkc, "gone_soon")
    assert r.error["ename"] == "NameError"
    assert run(wkc, "2 + 2").result == "4"


def test_sys_exit_reconnects(wkc) -> None:
    r = run(wkc, "import sys\nsys.exit()", timeout=30)
    assert r.reply["ename"] == "BoardReset", r.reply
    assert run(wkc, "3 + 3").result == "6"
    run(wkc, "gone_too = 1")
    r = run(wkc, "%reset --hard", timeout=60)
    assert r.status == "ok", r.text
    assert run(wkc, "gone_too").error["ename"] == "NameError"


# -- connecting: prompts, start-up, bad input --------------------------------------------


def pw_hook(kc, password: str, prompts: list[str]):
    def hook(msg) -> None:
        prompts.append(msg["content"]["prompt"])
        assert msg["content"]["password"] is True
        kc.input(password)

    return hook


@pytest.fixture
def kernel_no_env() -> Iterator[tuple]:
    km, kc = start_kernel({"MPKERNEL_WEBREPL_PASSWORD": ""})
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_connect_at_start_from_env(server: WebReplServer) -> None:
    km, kc = start_kernel({"MPKERNEL_PORT": server.url, "MPKERNEL_WEBREPL_PASSWORD": PASSWORD})
    try:
        r = run(kc, "1 + 1", allow_stdin=False)
        assert r.result == "2", r.text
        assert "WebREPL" in r.stdout
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_bad_connections(kernel_no_env, server: WebReplServer) -> None:
    _km, kc = kernel_no_env
    prompts: list[str] = []
    # Wrong password: one line, no retry.
    r = run(kc, f"%connect {server.url}", stdin_hook=pw_hook(kc, "wrong", prompts))
    assert prompts == ["WebREPL password: "]
    assert r.status == "error"
    assert "Access denied" in r.error["evalue"] and len(r.error["traceback"]) == 1
    assert "wrong" not in json.dumps([m["content"] for m in r.messages])
    wait_idle(server)
    # Nothing listening.
    port = free_port()
    r = run(kc, f"%connect ws://127.0.0.1:{port}", stdin_hook=pw_hook(kc, PASSWORD, prompts))
    assert r.status == "error" and "nothing answers" in r.error["evalue"].lower()
    assert f"127.0.0.1:{port}" in r.error["evalue"]
    assert prompts == ["WebREPL password: "]  # not asked: nothing answered
    # Another client holds the board.
    other = Client(server.url)
    other.login(PASSWORD)
    try:
        r = run(kc, f"%connect {server.url}", stdin_hook=pw_hook(kc, PASSWORD, prompts))
        assert r.status == "error" and "already in use" in r.error["evalue"]
    finally:
        other.close()
    wait_idle(server)
    # Headless, no variable: says what to do.
    r = run(kc, f"%connect {server.url}", allow_stdin=False)
    assert r.status == "error" and "MPKERNEL_WEBREPL_PASSWORD" in r.error["evalue"]
    # Then it works.
    r = run(kc, f"%connect {server.url}", stdin_hook=pw_hook(kc, PASSWORD, prompts))
    assert r.status == "ok", r.text


def test_server_killed_mid_cell(kernel_no_env, tmp_path: Path) -> None:
    _km, kc = kernel_no_env
    srv = WebReplServer(tmp_path / "b1", password=PASSWORD)
    srv2 = None
    try:
        r = run(kc, f"%connect {srv.url} --password-from-env PW_X", allow_stdin=False)
        assert r.status == "error" and "PW_X" in r.error["evalue"]
        r = run(kc, f"%connect {srv.url}", stdin_hook=pw_hook(kc, PASSWORD, []))
        assert r.status == "ok", r.text
        timer = threading.Timer(1.0, srv.stop)
        timer.start()
        r = run(kc, "import time\nfor i in range(100):\n    print(i)\n    time.sleep(0.1)")
        assert r.status == "error"
        assert r.error["ename"] == "BoardError" and "gone" in r.error["evalue"]
        assert len(r.error["traceback"]) == 1
        r = run(kc, "1 + 1", allow_stdin=False)
        assert r.status == "error" and "%connect" in r.error["evalue"]
        srv2 = WebReplServer(tmp_path / "b2", password=PASSWORD)
        r = run(kc, f"%connect {srv2.url}", stdin_hook=pw_hook(kc, PASSWORD, []))
        assert r.status == "ok", r.text
        assert run(kc, "1 + 1").result == "2"
    finally:
        srv.stop()
        if srv2 is not None:
            srv2.stop()


def test_no_password_in_notebook_iopub_or_history(
    kernel_no_env, server: WebReplServer, tmp_path: Path
) -> None:
    _km, kc = kernel_no_env
    new_pw = "n3wSecr"
    cells = [
        (f"%connect {server.url}", PASSWORD),
        ("%webrepl setup", "abc"),  # too short: refused
        ("%webrepl setup", new_pw),
        ("%webrepl status", None),
        ("print('measured', 1 + 1)", None),
        ("%webrepl disable", None),
    ]
    nb = nbformat.v4.new_notebook()
    messages = []
    results = []
    for code, pw in cells:
        prompts: list[str] = []
        kwargs = {"stdin_hook": pw_hook(kc, pw, prompts)} if pw else {"allow_stdin": False}
        r = run(kc, code, **kwargs)
        results.append(r)
        messages += r.messages
        nb.cells.append(as_cell(code, r))
    assert results[0].status == "ok", (results[0].text, results[0].error)
    assert results[1].status == "error" and "4 to 9" in results[1].error["evalue"]
    assert results[2].status == "ok", results[2].text
    assert "not shown" in results[2].stdout and "%reset" in results[2].stdout
    cfg = (server.root / "webrepl_cfg.py").read_text()
    assert cfg == f"PASS = {new_pw!r}\n"
    assert "enabled" in results[3].stdout and "ws://" in results[3].stdout
    assert results[5].status == "ok"
    boot = (server.root / "boot.py").read_text()
    assert "#import webrepl" in boot and "#webrepl.start()" in boot
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    saved = path.read_text()
    kc.history(hist_access_type="tail", n=100)
    hist = json.dumps(kc.get_shell_msg(timeout=10)["content"]["history"])
    iopub = json.dumps([m["content"] for m in messages])
    assert "%webrepl setup" in hist  # the history is there, without secrets
    for secret in (PASSWORD, new_pw):
        assert secret not in saved
        assert secret not in iopub
        assert secret not in hist


def test_webrepl_setup_over_serial(fresh_kernel, tmp_path: Path) -> None:
    _km, kc = fresh_kernel
    root = tmp_path / "vb"
    root.mkdir()
    (root / "boot.py").write_text("# boot\nimport gc\n#import webrepl\n#webrepl.start()\n")
    assert run(kc, f"%connect virtual --root {root}").status == "ok"
    r = run(kc, "%webrepl status")
    assert "not enabled" in r.stdout
    r = run(kc, "%webrepl setup", stdin_hook=pw_hook(kc, "waytoolongpw", []))
    assert r.status == "error" and "4 to 9" in r.error["evalue"]
    r = run(kc, "%webrepl setup", stdin_hook=pw_hook(kc, "good1", []))
    assert r.status == "ok", r.text
    assert "good1" not in r.text
    assert (root / "webrepl_cfg.py").read_text() == "PASS = 'good1'\n"
    assert (root / "boot.py").read_text() == "# boot\nimport gc\nimport webrepl\nwebrepl.start()\n"
    r = run(kc, "%webrepl status")
    assert "WebREPL: enabled" in r.stdout
    r = run(kc, "%webrepl disable --remove-password")
    assert r.status == "ok" and "removed" in r.stdout
    assert not (root / "webrepl_cfg.py").exists()
    assert "#webrepl.start()" in (root / "boot.py").read_text()
