"""A board plugged into the browser's computer (Web Serial), in JupyterLab in a real browser.

Chromium's port picker cannot be clicked by Playwright, so the page gets a `navigator.serial`
of the tests' own (tests/webserial_shim.js, installed before the page loads) with the real
API's shape; its ports are virtual boards' PTYs behind tests/serial_bridge.py, paced at
the rate the page opened the port at, where an RTS pulse is the reset circuit (one of them
acts as firmware without raw-paste). The extension's code is the one users
get: it picks the port in the panel, opens it, and lends it to the kernel through the Jupyter
server's relay. Same server and screenshots as test_browser.py (panel-browser-link.png).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge import serial_bridge
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from test_browser import (  # the fixtures and helpers of the browser tests
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    WAIT,
    Notebook,
    Server,
    file_editor,
    notebook_ready,
    open_new_notebook,
    open_notebook7,
    server,
    shots,
    wait_for_kernel,
)
from test_browser_panel import BoardPanel, wait_while_said

from mpkernel.board.virtual.board import VirtualBoard

__all__ = ["server", "shots"]  # fixtures, used by name
pytestmark = pytest.mark.timeout(600)

HERE = Path(__file__).resolve().parent
SHIM = (HERE / "webserial_shim.js").read_text()
#: The ports the shim offers: a CH340 (as on most ESP8266 boards), a CP2102, and a micro:bit's
#: DAPLink port whose board runs firmware without raw-paste (older than 1.14).
PORTS = [("board", 0x1A86, 0x7523), ("spare", 0x10C4, 0xEA60), ("old", 0x0D28, 0x0204)]
LEGACY = {"old"}
#: The fastest rate the shim's USB adapters take (a CH340's): a faster one is refused.
MAX_BAUD = 2_000_000
BUTTON = "Connect a board on this computer"
#: A program that runs until stopped, printing a dot ten times a second.
DOTS = "import time\nwhile True:\n    print('.', end='')\n    time.sleep(0.1)"
INTERRUPT = '.jp-NotebookPanel:visible .jp-Toolbar [data-command="notebook:interrupt-kernel"]'


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[VirtualBoard]]:
    """Two virtual boards, started before any page opens their ports (as boards are powered
    before they are plugged in)."""
    started = [
        VirtualBoard(root=tmp_path_factory.mktemp(name), legacy=name in LEGACY)
        for name, *_ in PORTS
    ]
    yield started
    for board in started:
        board.stop()


@pytest.fixture(scope="module")
def bridge(boards: list[VirtualBoard]) -> Iterator[str]:
    """The test-only bridge: ws://127.0.0.1:N/<name> is that board's port at 115200 baud."""
    specs = [
        # the board's process is its reset button (SIGUSR1)
        f"{name}={board.port}@{board._proc.pid}"
        for (name, *_), board in zip(PORTS, boards, strict=True)
    ]
    with serial_bridge(specs) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:  # the browser is there but cannot start here
            pytest.skip(f"Chromium at {CHROMIUM} failed to start: {str(exc).splitlines()[0]}")
        yield browser
        browser.close()


def shim_script(bridge: str) -> str:
    ports = [
        {"url": f"{bridge}/{name}", "usbVendorId": vid, "usbProductId": pid, "maxBaud": MAX_BAUD}
        for name, vid, pid in PORTS
    ]
    return f"({SHIM})({json.dumps(ports)});"


@pytest.fixture(scope="module")
def context(chromium: Browser, bridge: str) -> Iterator[BrowserContext]:
    """A browser profile whose pages have the shim's `navigator.serial`."""
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT)
    context.add_init_script(script=shim_script(bridge))
    yield context
    context.close()


def connect_here(page: Page, panel: BoardPanel, port: int = 0) -> None:
    """Click the panel's button; the user picks `port` in the browser's picker."""
    page.evaluate("i => window.__serialShim.choose(i)", port)
    panel.open()
    panel.ready()
    panel.button(BUTTON).click()
    state = panel.node.locator(".mpk-Panel-state")
    wait_while_said(
        page,
        lambda _: "browser serial link" in state.inner_text(),
        60,
        "not connected through the page",
    )
    _, vid, pid = PORTS[port]
    expect(state).to_contain_text(f"USB {vid:04x}:{pid:04x}")


def cell_text(nb: Notebook, code: str, timeout: float = WAIT) -> str:
    cell = nb.run(code, wait=False)
    nb.wait_done(cell, timeout=timeout)
    return nb.output(cell).inner_text()


def board_sha256(nb: Notebook, path: str) -> str:
    out = cell_text(
        nb,
        "import hashlib, binascii\n"
        f"print(binascii.hexlify(hashlib.sha256(open({path!r},'rb').read()).digest()).decode())",
    )
    found = re.search(r"[0-9a-f]{64}", out)
    assert found, out
    return found.group(0)


@pytest.fixture(scope="module")
def lab(context: BrowserContext, server: Server) -> Iterator[tuple[Page, Notebook, BoardPanel]]:
    """A MicroPython notebook in JupyterLab, the Board panel open (nothing connected)."""
    page = context.new_page()
    open_new_notebook(page, server)
    panel = BoardPanel(page)
    panel.open()
    yield page, Notebook(page), panel
    page.close()


# ---------------------------------------------------------------- tests, in a user's order


def test_connect_board_on_this_computer(lab, shots: Path) -> None:
    page, nb, panel = lab
    connect_here(page, panel)
    expect(page.locator(".mpk-Status")).to_contain_text("browser")
    out = cell_text(nb, "import sys\nprint(sys.implementation.name, 6 * 7)")
    assert "micropython 42" in out
    assert "Connected to" in out  # the first cell says what it runs on (and records it)
    value = nb.run("1 + 2").locator(".jp-OutputArea-executeResult")
    expect(value).to_contain_text("3")
    err = nb.run("1/0").locator(".jp-OutputArea-output")
    expect(err).to_contain_text("ZeroDivisionError")
    panel.ready()
    page.screenshot(path=shots / "panel-browser-link.png")


def test_output_streams_and_stop_button(lab) -> None:
    page, nb, _ = lab
    cell = nb.run(
        "import time\nfor i in range(4):\n    print('tick', i)\n    time.sleep(0.5)", wait=False
    )
    out = nb.output(cell)
    expect(out).to_contain_text("tick 1")
    assert "tick 3" not in out.inner_text(), "output arrived all at once, not streamed"
    nb.wait_done(cell)
    busy = nb.run("print('looping')\nwhile True:\n    pass", wait=False)
    expect(nb.output(busy)).to_contain_text("looping")
    page.locator(INTERRUPT).first.click()
    expect(nb.output(busy)).to_contain_text("KeyboardInterrupt")
    nb.wait_done(busy)
    assert "still here" in cell_text(nb, "print('still here')")


def test_input_reaches_the_board(lab) -> None:
    _, nb, _ = lab
    cell = nb.run("name = input('name? ')\nprint('hello', name)", wait=False)
    box = cell.locator(".jp-Stdin-input")
    expect(box).to_be_visible()
    box.fill("ada")
    box.press("Enter")
    nb.wait_done(cell)
    expect(nb.output(cell)).to_contain_text("hello ada")


def test_panel_upload_edit_download(lab, server: Server) -> None:
    page, nb, panel = lab
    data = os.urandom(12_000)
    panel.drop_files({"blob.bin": data, "hello.py": b"print('hello')\n"})
    expect(panel.row("blob.bin")).to_contain_text("12 KB")
    assert board_sha256(nb, "blob.bin") == hashlib.sha256(data).hexdigest()
    panel.row("hello.py").dblclick()
    editor = file_editor(page, "hello.py")
    expect(editor).to_contain_text("print('hello')")
    editor.click()
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.insert_text("print('edited through the page')\n")
    page.keyboard.press("ControlOrMeta+s")
    expect(page.locator(".lm-TabBar-tab.lm-mod-current.jp-mod-dirty")).to_have_count(0)
    page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    page.locator(".lm-TabBar-tab", has_text="Untitled").first.click()
    assert "edited through the page" in cell_text(nb, "print(open('hello.py').read())")
    panel.open()
    panel.row_action("blob.bin", "Download to the Jupyter working folder")
    expect(page.locator(".jp-toast-message", has_text="Downloaded blob.bin")).to_be_visible()
    assert (server.root / "blob.bin").read_bytes() == data


def test_put_and_get_are_byte_exact(lab, server: Server) -> None:
    _, nb, _ = lab
    data = os.urandom(20_000)
    (server.root / "up.bin").write_bytes(data)
    out = cell_text(nb, "%put up.bin", timeout=90_000)
    assert "put" in out
    assert board_sha256(nb, "up.bin") == hashlib.sha256(data).hexdigest()
    out = cell_text(nb, "%get up.bin back.bin", timeout=90_000)
    assert (server.root / "back.bin").read_bytes() == data, out


def test_hard_reset_through_the_rts_line(lab) -> None:
    page, nb, panel = lab
    nb.run("with open('main.py', 'w') as f:\n    f.write(\"print('main.py says hi')\\n\")")
    nb.run("marker = 'before the reset'")
    panel.open()
    panel.button("Hard reset").click()
    panel.button("Console").click()
    expect(page.locator(".mpk-Console-text")).to_contain_text("main.py says hi")
    page.locator(".lm-TabBar-tab", has_text="Untitled").first.click()
    assert "NameError" in cell_text(nb, "print(marker)")  # the board really started again
    nb.run("import os\nos.remove('main.py')")


def test_second_tab_for_the_same_kernel_is_refused(context: BrowserContext, lab) -> None:
    page, nb, _ = lab
    other = context.new_page()
    try:
        other.goto(page.url)  # the same notebook (and kernel) in a second tab
        notebook_ready(other)
        panel = BoardPanel(other)
        other.evaluate("() => window.__serialShim.choose(1)")
        panel.open()
        panel.ready()
        # the kernel uses the first tab's board: the second tab says so
        expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("a board in another tab")
        expect(panel.button(BUTTON)).to_be_hidden()
        # the first tab keeps the link while the kernel lets the board go: the server refuses
        # the second tab's
        nb.run("%disconnect")
        expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("not connected")
        panel.button(BUTTON).click()
        toast = other.locator(".jp-toast-message", has_text="Another tab holds")
        expect(toast.first).to_be_visible()
        expect(other.locator(".mpk-Status")).to_contain_text("not connected")
        other.wait_for_function("() => !window.__serialShim.isOpen(1)")  # port given back
    finally:
        other.close()
    assert "Connected" in cell_text(nb, "%connect browser")  # the first tab's board again
    assert "first tab 2" in cell_text(nb, "print('first tab', 1 + 1)")


def test_unplug_mid_cell_ends_it_with_one_line(lab) -> None:
    page, nb, panel = lab
    cell = nb.run(DOTS, wait=False)
    expect(nb.output(cell)).to_contain_text("..")
    page.evaluate("() => window.__serialShim.unplug(0)")
    nb.wait_done(cell)
    expect(nb.output(cell)).to_contain_text("unplugged")
    expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("not connected")
    page.evaluate("() => window.__serialShim.plug(0)")
    connect_here(page, panel)
    assert "back 3" in cell_text(nb, "print('back', 1 + 2)")


def test_unplug_mid_transfer_keeps_the_old_file(lab, server: Server) -> None:
    page, nb, panel = lab
    old = cell_text(nb, "print(len(open('up.bin','rb').read()))")
    assert "20000" in old
    (server.root / "up.bin").write_bytes(os.urandom(60_000))
    cell = nb.run("%put up.bin", wait=False)
    # under way (60 KB take about 6 s at 115200 baud): a kilobyte or more has gone
    expect(nb.output(cell)).to_contain_text(re.compile(r"[1-9][\d.]* KB / "))
    page.evaluate("() => window.__serialShim.unplug(0)")
    nb.wait_done(cell)
    expect(nb.output(cell)).to_contain_text("unplugged")
    page.evaluate("() => window.__serialShim.plug(0)")
    connect_here(page, panel)
    assert "20000" in cell_text(nb, "print(len(open('up.bin','rb').read()))")


def test_reload_mid_cell(lab) -> None:
    page, nb, panel = lab
    cell = nb.run("import time\nfor i in range(600):\n    time.sleep(0.1)", wait=False)
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\*\]"))
    page.reload()
    notebook_ready(page)  # the kernel's cell ended (the tab that held its board went away)
    panel.open()
    expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("not connected")
    connect_here(page, panel)
    assert "after reload" in cell_text(nb, "print('after reload')")


def shim(page: Page, call: str, *args: object) -> object:
    """What the shim's test handle says (window.__serialShim.<call>(...args))."""
    return page.evaluate(f"args => window.__serialShim.{call}(...args)", list(args))


def test_baud_change_reopens_the_port(lab) -> None:
    page, nb, panel = lab
    state = panel.node.locator(".mpk-Panel-state")
    assert "Connected" in cell_text(nb, "%connect browser --baud 57600")
    assert shim(page, "baud", 0) == 57600  # closed and opened again at the new rate
    expect(state).to_contain_text("at 57600 baud")
    assert "slower 6" in cell_text(nb, "print('slower', 2 * 3)")
    # a rate the USB adapter does not take: one line, and the port stays at the old rate
    out = cell_text(nb, "%connect browser --baud 3000000")
    assert "refused 3000000 baud" in out and "stays at 57600 baud" in out, out
    assert "Traceback" not in out
    assert shim(page, "baud", 0) == 57600
    # the next kernel connection learns the port's rate from the page, and asks for its own
    assert "Connected" in cell_text(nb, "%connect browser")
    assert shim(page, "baud", 0) == 115200
    expect(state).to_contain_text("at 115200 baud")
    assert "back 9" in cell_text(nb, "print('back', 3 * 3)")


def reconnect_here(page: Page, panel: BoardPanel, port: int) -> None:
    """Disconnect in the panel (the page gives its port up), then connect `port`."""
    panel.open()
    panel.ready()
    panel.button("Disconnect").click()
    expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("not connected")
    connect_here(page, panel, port)


def test_paced_writes_to_firmware_without_raw_paste(lab) -> None:
    """A board without raw-paste gets long code in slices with pauses (`L`), written by the
    page next to the board: the kernel waits for the page's answer, not per slice."""
    page, nb, panel = lab
    reconnect_here(page, panel, 2)
    assert not shim(page, "isOpen", 0)
    lines = [f"v{i} = {i} * {i} + len('{'abcdefgh' * 3}')" for i in range(12)]
    code = "\n".join([*lines, "print('total', " + " + ".join(f"v{i}" for i in range(12)) + ")"])
    assert len(code) > 256  # several slices, and more than one verified piece (no comments)
    shim(page, "writes", 2)  # forget what connecting wrote
    out = cell_text(nb, code)
    assert f"total {sum(i * i + 24 for i in range(12))}" in out, out
    writes = shim(page, "writes", 2)
    assert isinstance(writes, list)
    slices = [n for n in writes if n <= 64]
    assert sum(slices) >= len(code), writes  # the code itself went in paced slices
    reconnect_here(page, panel, 0)
    assert not shim(page, "isOpen", 2)


STUCK = ["running a program", "in its raw REPL", "receiving a file (Ctrl-C off)"]


@pytest.mark.parametrize("left", STUCK)
def test_self_powered_board_stuck_after_unplug(lab, server: Server, left: str) -> None:
    """A board with its own power supply keeps running when its cable is pulled: plugged
    back, it is still in a program, its raw REPL, or the put helper (which turns Ctrl-C off
    to take raw bytes). Connecting again gives a usable board, with its variables (it never
    reset) and, after a put cut short, the old file."""
    page, nb, panel = lab
    nb.run(f"kept = {left!r}")
    cell = None
    if left == STUCK[0]:
        cell = nb.run(DOTS, wait=False)
        expect(nb.output(cell)).to_contain_text("..")
    elif left == STUCK[2]:
        (server.root / "stuck.bin").write_bytes(os.urandom(40_000))  # random: sent raw
        cell = nb.run("%put stuck.bin", wait=False)
        expect(nb.output(cell)).to_contain_text(re.compile(r"[1-9][\d.]* KB / "))
    shim(page, "unplug", 0, {"selfPowered": True})
    if cell is not None:
        nb.wait_done(cell)
        expect(nb.output(cell)).to_contain_text("unplugged")
    expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("not connected")
    shim(page, "plug", 0)
    connect_here(page, panel)
    out = cell_text(
        nb, "import os\nprint('kept:', kept, [n for n in os.listdir() if 'stuck' in n])"
    )
    assert f"kept: {left} []" in out, out  # the same board, not restarted; no half file
    if left == STUCK[0]:
        assert "program was running" in out  # what connecting did to it, in one line
    if left == STUCK[2]:
        assert "file transfer cut off" in out
    assert "usable 7" in cell_text(nb, "print('usable', 2 + 5)")


def test_notebook7_connects_a_board_on_this_computer(
    context: BrowserContext, server: Server, shots: Path
) -> None:
    pytest.importorskip("notebook", reason="Notebook 7 not installed (sh install/test-tools.sh)")
    page = context.new_page()
    try:
        source = "import sys\nprint(sys.implementation.name, 6 * 7)"
        cells = open_notebook7(page, server, "serial7.ipynb", [source])
        wait_for_kernel(page)
        # Notebook 7 puts side panels under View > Left Sidebar
        page.locator(".lm-MenuBar-itemLabel", has_text="View").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Left Sidebar").first.hover()
        page.locator(".lm-Menu-itemLabel", has_text="Show MicroPython board").click()
        panel = BoardPanel(page)
        expect(panel.node).to_be_visible(timeout=WAIT)
        connect_here(page, panel, 1)
        cells.nth(0).locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        out = cells.nth(0).locator(".jp-Cell-outputArea")
        expect(out).to_contain_text("micropython 42", timeout=WAIT)
        page.screenshot(path=shots / "notebook7-browser-link.png")
        panel.button("Disconnect").click()
        expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("not connected")
        page.wait_for_function("() => !window.__serialShim.isOpen(1)")  # port given back
    finally:
        page.close()


def test_browser_without_web_serial_says_so(chromium: Browser, server: Server) -> None:
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT)
    context.add_init_script(script="delete Navigator.prototype.serial;")  # as in Firefox
    page = context.new_page()
    try:
        open_new_notebook(page, server, "no-serial")  # a workspace of its own: the launcher
        assert page.evaluate("() => 'serial' in navigator") is False
        panel = BoardPanel(page)
        panel.open()
        panel.ready()
        note = panel.node.locator(".mpk-Panel-note")
        expect(note).to_contain_text("cannot open serial ports")
        expect(note).to_contain_text("WebREPL")
        assert "\n" not in note.inner_text().strip()  # one line
        expect(panel.button(BUTTON)).to_be_hidden()
        panel.connect_virtual()  # what remains works
    finally:
        context.close()
