"""A class on a real JupyterHub: students log in, open the getting-started notebook in
JupyterLab with the MicroPython kernel, plug their board into their own laptop, connect it
with the board panel's "Connect a board on this computer", and run the tutorial's cells at
the same time.

The hub (tests/hub.py) runs on 127.0.0.1 with the dummy authenticator and local processes;
each student logs in through /hub/login in a browser context of their own (Playwright with
Debian's Chromium), whose pages get the test's `navigator.serial` (tests/webserial_shim.js,
installed before the page loads) with one port: the student's own virtual board, behind
tests/serial_bridge.py at 115200 baud, as a CH340 on a USB cable. The board is the
student's laptop's, not the hub's: the kernel reaches it only through the student's own page
and server (the browser link). Each board answers `machine.unique_id()` with its own id and
holds a label file the test wrote into its folder, so an output read from another
student's board shows. N students: $MPKERNEL_HUB_STUDENTS (CI: 10); bench/bench_hub.py
runs 30. One more student's board is new (esp32-mock-bootloader's simulated ESP8266 ROM,
behind the same bridge): they run the tutorial's chip, backup, erase, flash and restore
cells through their page while the class runs its cells. Skipped (with the reason)
without `sh install/jupyterhub.sh` or Chromium.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import nbformat
import pytest
from bridge import serial_bridge
from browser_page import BrowserPage, PageRefused
from hub import MPKERNEL_CONFIG, Hub, missing, processes_under, running_hub

from mpkernel.board.links.ports import find_boards
from mpkernel.board.virtual.board import VirtualBoard
from mpkernel.flash import mock
from mpkernel.flash.image import esp8266_image

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright not installed (sh install/test-tools.sh)"
)
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright  # noqa: E402
from test_browser import wait_for_kernel  # noqa: E402
from test_browser_panel import BoardPanel, kept_for_flash, wait_while_said  # noqa: E402

CHROMIUM = os.environ.get("MPKERNEL_CHROMIUM", "/usr/bin/chromium")
if missing():
    if os.environ.get("CI") == "true":  # .ci/run installs it: missing there is a failure
        raise RuntimeError(f"CI: {missing()}")
    pytest.skip(str(missing()), allow_module_level=True)
if not Path(CHROMIUM).exists():
    pytest.skip(f"no browser at {CHROMIUM} (sh install/test-tools.sh)", allow_module_level=True)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TUTORIAL = ROOT / "notebooks" / "01-getting-started-esp8266.ipynb"
SHIM = (HERE / "webserial_shim.js").read_text()
CH340 = (0x1A86, 0x7523)  # the USB-serial chip of most ESP8266 boards
BUTTON = "Connect a board on this computer"
STUDENTS = int(os.environ.get("MPKERNEL_HUB_STUDENTS", "10"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
STEP = 240_000  # ms: one step for the whole class on a busy 2-core machine
#: The tutorial's cells the class runs, in order (its own sources, matched exactly). Not
#: %chipinfo: behind their pages is MicroPython's unix port, with no ESP bootloader to answer;
#: the flashing student (FLASHER) has a new board, the simulated ESP8266 bootloader.
TUTORIAL_CELLS = [
    "%connect",
    "1 + 2",
    "import sys\nprint(sys.implementation.name, sys.version)",
    "%wifi scan",
]
pytestmark = [pytest.mark.timeout(1800)]
expect.set_options(timeout=STEP)


def notebook_for(student: str) -> nbformat.NotebookNode:
    """The tutorial, plus two cells after its Python version: the student's name written to
    the board's flash, then the board's id, that file and the board's label read back."""
    nb = nbformat.read(TUTORIAL, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.source.startswith("import sys")) + 1
    nb.cells[at:at] = [nbformat.v4.new_code_cell(c.format(student=student)) for c in OWN_CELLS]
    nb.cells += [nbformat.v4.new_code_cell(c.format(student=student)) for c in EXTRA_CELLS]
    return nb


#: The file the test writes into each board's folder before the board starts: read through
#: the student's page, it names whose laptop the board is on.
LABEL = "label.txt"
OWN_CELLS = [
    'open("owner.txt", "w").write("{student}")',
    'import machine\nprint("board", machine.unique_id(), "of", open("owner.txt").read(), '
    f'"label", open("{LABEL}").read())',
]
#: Cells the later tests run, at the notebook's end (found by their source, as the tutorial's).
KEEP = 'kept = "{student}"'
SHOW_KEPT = "print('kept', kept)"
SHOW_KEPT_AGAIN = "print('still kept', kept)"
TICKS = "import time\nfor i in range(8):\n    print('tick', i)\n    time.sleep(0.5)"
STILL = 'print("still", open("owner.txt").read())'
RETURNED = "print('returned')"
BACK = 'print("back on", open("owner.txt").read())'
AFTER = 'print("after", open("owner.txt").read())'
EXTRA_CELLS = [KEEP, SHOW_KEPT, SHOW_KEPT_AGAIN, TICKS, STILL, RETURNED, BACK, AFTER]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if find_boards():
        pytest.skip("a board is plugged in: the kernels would see it")
    # Homes as deep as pytest's folders: each student's link socket path is over 107 bytes.
    folder = tmp_path_factory.mktemp("hub")
    try:
        with running_hub(folder) as running:
            yield running
        left = processes_under(folder)
        assert not left, f"processes of the hub still running after it stopped: {left}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def student_names() -> list[str]:
    return [f"s{i:02d}" for i in range(1, STUDENTS + 1)]


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, VirtualBoard]]:
    """Each student's board, on their laptop (here: a virtual board of the test's, powered
    before the page opens it), with a label file in its flash."""
    started: dict[str, VirtualBoard] = {}
    try:
        for name in student_names():
            folder = tmp_path_factory.mktemp(f"board-{name}")
            (folder / LABEL).write_text(f"laptop-of-{name}")
            started[name] = VirtualBoard(root=folder)
        yield started
    finally:
        for board in started.values():
            board.stop()


def tutorial_cell(start: str) -> str:
    """The source of the tutorial's code cell that starts with `start`."""
    nb = nbformat.read(TUTORIAL, as_version=4)
    return next(c.source for c in nb.cells if c.source.startswith(start))


#: The student whose board is new: an ESP8266 with no MicroPython yet.
FLASHER = "f01"
#: The tutorial's cells from the chip's identity to the new firmware, and the restore at
#: its end (its own sources, matched exactly); firmware.bin is in the student's folder, as
#: the tutorial asks of a real board.
FLASH_CELLS = [
    "%chipinfo",
    "%backup esp8266-original.bin --force",
    tutorial_cell("%%host\nimport hashlib, json"),  # the backup checked against its record
    "%erase --yes",
    "%flash firmware.bin",
    "%restore esp8266-original.bin",
]
FLASH_STEP = 900_000  # ms: a 4 MB backup at 460800 baud through a page on a busy hub


@pytest.fixture(scope="module")
def new_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The flashing student's ESP8266 in its bootloader (the simulator's PTY), on their
    laptop."""
    if not mock.available():
        if os.environ.get("CI") == "true":
            raise RuntimeError("CI: esp32-mock-bootloader not installed")
        pytest.skip("esp32-mock-bootloader not installed (sh install/test-tools.sh)")
    proc, pty = mock.start(tmp_path_factory.mktemp("mockboot"))
    try:
        yield pty
    finally:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def bridge(boards: dict[str, VirtualBoard], new_board: str) -> Iterator[str]:
    """The shim's ports: ws://127.0.0.1:N/<student> is that student's board at 115200 baud
    (an RTS pulse is its reset circuit), paced at the baud rate the page sets."""
    specs = [f"{name}={board.port}@{board._proc.pid}" for name, board in boards.items()]
    with serial_bridge([*specs, f"{FLASHER}={new_board}"]) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:
            pytest.skip(f"Chromium at {CHROMIUM} failed to start: {str(exc).splitlines()[0]}")
        yield b
        b.close()


def shim_script(port_url: str) -> str:
    """The laptop's `navigator.serial`: one port, the student's board."""
    ports = [{"url": port_url, "usbVendorId": CH340[0], "usbProductId": CH340[1]}]
    return f"({SHIM})({json.dumps(ports)});"


class Student:
    """One student: a browser context of their own (their laptop, with their board on its
    USB port), logged in, with the tutorial open."""

    def __init__(self, hub: Hub, browser: Browser, bridge: str, name: str) -> None:
        self.hub, self.name = hub, name
        home = hub.home(name)
        nbformat.write(notebook_for(name), home / TUTORIAL.name)
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.context.set_default_timeout(STEP)
        self.context.add_init_script(script=shim_script(f"{bridge}/{name}"))
        self.page = self.new_page()

    def new_page(self) -> Page:
        """A tab of this student's; the dialogs JupyterLab shows when it polled while the
        hub's proxy restarted ("Server unavailable", or the file browser's "Directory not
        found", or "File Save Error" for an autosave that reached the hub before the new
        proxy had the student's route) are dismissed whenever they get in the way of a
        click, as a student closes them."""
        page = self.context.new_page()
        unavailable = page.locator('dialog.jp-Dialog[aria-label*="Server unavailable"]')
        page.add_locator_handler(unavailable, lambda d: d.locator(".jp-mod-reject").click())
        no_folder = page.locator('dialog.jp-Dialog[aria-label^="Directory not found"]')
        page.add_locator_handler(no_folder, close_dialog)
        not_saved = page.locator('dialog.jp-Dialog[aria-label^="File Save Error"]')
        page.add_locator_handler(not_saved, close_dialog)
        return page

    @property
    def lab_url(self) -> str:
        return f"{self.hub.url}/user/{self.name}/lab/tree/{TUTORIAL.name}"

    def log_in(self) -> None:
        """Submit the hub's login form; the hub then starts this student's server."""
        lab = f"/user/{self.name}/lab/tree/{TUTORIAL.name}"
        spawn = "/hub/spawn?" + urlencode({"next": lab})  # the hub spawns, then opens lab
        self.page.goto(f"{self.hub.url}/hub/login?" + urlencode({"next": spawn}))
        self.page.fill("#username_input", self.name)
        self.page.fill("#password_input", "any")
        self.page.click("#login_submit")

    def wait_ready(self) -> None:
        """JupyterLab shows the notebook with its kernel idle."""
        cells = self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")
        expect(cells.first).to_be_visible(timeout=STEP * 2)
        try:  # a class logging in at once on 2 cores: 160 s here, more on a busy CI machine
            wait_for_kernel(self.page, timeout=STEP * 2)
        except AssertionError as exc:
            raise AssertionError(f"{self.name}: kernel not idle; {self.seen()}") from exc
        dismiss(self.page)

    def seen(self) -> str:
        """What this student's page shows of its kernel, and the hub's log of their server."""
        page = self.page
        status = page.locator(".jp-Notebook-ExecutionIndicator").evaluate_all(
            "els => els.map(e => e.getAttribute('data-status'))"
        )
        shown = {
            "url": page.url,
            "indicator": status,
            "kernel": page.locator(".jp-Toolbar-kernelName").all_inner_texts(),
            "status bar": page.locator(".jp-StatusBar-TextItem").all_inner_texts(),
            "dialogs": page.locator(".jp-Dialog").all_inner_texts(),
            "toasts": page.locator(".jp-toast-message").all_inner_texts(),
        }
        lines = self.hub.log_tail(400_000).splitlines()
        log = [line for line in lines if self.name in line or "ernel" in line]
        return f"page: {shown}; hub log: {log[-20:]}"

    def click_connect(self) -> BoardPanel:
        """The board panel's "Connect a board on this computer"; the student picks their
        board (the only port) in the browser's picker."""
        self.page.evaluate("() => window.__serialShim.choose(0)")
        panel = BoardPanel(self.page)
        panel.open()
        panel.ready()
        panel.button(BUTTON).click()
        return panel

    def wait_connected(self, panel: BoardPanel) -> None:
        """The panel says the kernel uses the board through this page."""
        state = panel.node.locator(".mpk-Panel-state")
        wait_while_said(
            self.page,
            lambda _: "browser serial link" in state.inner_text(),
            STEP / 1000,
            f"{self.name}: not connected",
        )
        expect(state).to_contain_text(f"USB {CH340[0]:04x}:{CH340[1]:04x}")

    def connect_board(self) -> None:
        self.wait_connected(self.click_connect())

    def cell(self, source: str, nth: int = 0) -> Locator:
        exact = re.compile(f"^{re.escape(source.replace(chr(10), ''))}$")
        found = self.page.locator(".jp-NotebookPanel:visible .jp-CodeCell").filter(
            has=self.page.locator(".cm-content", has_text=exact)
        )
        return found.nth(nth)

    def type_password(self, cell: Locator, password: str) -> None:
        """Type a password into the hidden box the cell asks it in."""
        box = cell.locator(".jp-Stdin-input")
        expect(box).to_be_visible()
        expect(box).to_have_attribute("type", "password")
        box.fill(password)
        box.press("Enter")

    def start(self, source: str, nth: int = 0) -> Locator:
        """Run the cell holding `source` (the nth of those that do): it is queued or running
        once its prompt shows [*] or a number (a Shift+Enter lost on a busy machine is
        pressed again)."""
        cell = self.cell(source.format(student=self.name), nth)
        prompt = cell.locator(".jp-InputPrompt")
        for _ in range(3):
            cell.locator(".cm-content").click()
            self.page.keyboard.press("Shift+Enter")
            try:
                expect(prompt).to_have_text(re.compile(r"\[[\d*]+\]"), timeout=STEP / 4)
                break
            except AssertionError:
                continue
        return cell

    def close(self) -> None:
        self.context.close()


def close_dialog(dialog: Locator) -> None:
    """Close a JupyterLab dialog as a user does: Escape, else its last button."""
    dialog.press("Escape")
    with contextlib.suppress(AssertionError):
        expect(dialog).to_be_hidden(timeout=5_000)
        return
    dialog.locator("button.jp-Dialog-button").last.click()


def dismiss(page: Page) -> None:
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
    for close in page.locator(".jp-Notification-Toast-Close").all():
        if close.is_visible():
            close.click()


def done(cell: Locator, timeout: float = STEP) -> Locator:
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout)
    return cell.locator(".jp-Cell-outputArea")


def run_at_once(class_: list[Student], source: str) -> list[str]:
    """Every student starts the cell, then each one's output is read once it is done."""
    cells = [s.start(source) for s in class_]
    return [done(cell).inner_text() for cell in cells]


@pytest.fixture(scope="module")
def class_(hub: Hub, browser: Browser, bridge: str) -> Iterator[list[Student]]:
    """Every student logged in, the tutorial open, their board connected with the panel's
    button (all at once, as a class does when the teacher says so)."""
    students = [Student(hub, browser, bridge, name) for name in student_names()]
    start = time.monotonic()
    for s in students:
        s.log_in()
    for s in students:
        s.wait_ready()
    ready = time.monotonic() - start
    panels = [s.click_connect() for s in students]
    for s, panel in zip(students, panels, strict=True):
        s.wait_connected(panel)
    linked = time.monotonic() - start - ready
    print(f"{STUDENTS} students logged in, JupyterLab ready: {ready:.0f} s; "
          f"boards connected through their pages: {linked:.0f} s")  # fmt: skip
    yield students
    for s in students:
        s.close()


def test_class_runs_the_tutorial_at_once(hub: Hub, class_: list[Student]) -> None:
    """All students run the tutorial's cells at the same time, each on the board of their
    own laptop: the tutorial's bare %connect takes the page's board, the board's id is its
    own, and the files read back are theirs (the one they wrote, the label the test put on
    their board)."""
    outputs: dict[str, list[str]] = {}
    started = time.monotonic()
    for source in [*TUTORIAL_CELLS[:3], OWN_CELLS[0], TUTORIAL_CELLS[3], OWN_CELLS[1]]:
        outputs[source] = run_at_once(class_, source)
    print(f"the tutorial's cells, {STUDENTS} students at once: {time.monotonic() - started:.0f} s")
    for text in outputs["%connect"]:
        assert "via the board on this browser's computer (Web Serial, USB 1a86:7523)" in text, text
        assert "using the virtual board" not in text, text
    for text in outputs["1 + 2"]:
        assert text.strip().endswith("3"), text
    for text in outputs[TUTORIAL_CELLS[2]]:
        assert text.startswith("micropython"), text
    for text in outputs["%wifi scan"]:
        assert "network(s) found" in text, text
    ids = []
    for student, text in zip(class_, outputs[OWN_CELLS[1]], strict=True):
        # the id's repr is quoted with " when its bytes hold a '
        found = re.search(r"board (b(['\"])MPK.*?\2) of (\S+) label (\S+)", text)
        assert found, text
        assert found.group(3) == student.name, f"{student.name} reads another board: {text}"
        assert found.group(4) == f"laptop-of-{student.name}", f"{student.name}: {text}"
        ids.append(found.group(1))
    assert len(set(ids)) == len(class_), f"two students share a board: {ids}"


def test_a_new_board_is_flashed_through_the_page_while_the_class_runs(
    hub: Hub, browser: Browser, bridge: str, class_: list[Student]
) -> None:
    """A student whose ESP8266 is new (no MicroPython: its bootloader answers) connects it
    with the panel's button; the page says it keeps the port for the flash tools, and the
    tutorial's cells read the chip, back its flash up into the student's hub folder, check
    the backup, erase, flash the firmware from that folder (every image check, the MD5 on
    the chip) and restore the backup, all through the student's page. The class runs a
    cell meanwhile, on their own boards."""
    home = hub.home(FLASHER)
    firmware = esp8266_image(os.urandom(48 * 1024))  # the firmware they downloaded
    (home / "firmware.bin").write_bytes(firmware)
    student = Student(hub, browser, bridge, FLASHER)
    try:
        student.log_in()
        student.wait_ready()
        student.click_connect()
        wait_while_said(student.page, kept_for_flash, STEP / 1000, "the page did not keep the port")
        dismiss(student.page)
        outputs: dict[str, str] = {}
        started = time.monotonic()
        for source in FLASH_CELLS:
            cell = student.start(source)
            if source.startswith("%backup"):  # the class goes on meanwhile
                for s, out in zip(class_, run_at_once(class_, TUTORIAL_CELLS[1]), strict=True):
                    assert out.strip().endswith("3"), (s.name, out)
            outputs[source] = done(cell, FLASH_STEP).inner_text()
        print(f"{FLASHER}'s new board read, backed up (4 MB), erased, flashed and restored "
              f"through the page: {time.monotonic() - started:.0f} s")  # fmt: skip
    finally:
        student.close()
    shown = "\n".join(outputs.values())
    assert "[simulated]" not in shown and "Traceback" not in shown, shown
    assert "ESP8266" in outputs["%chipinfo"] and "Flash id:" in outputs["%chipinfo"], outputs
    backup = home / "esp8266-original.bin"
    assert backup.stat().st_size == 4 * 1024 * 1024, outputs[FLASH_CELLS[1]]
    record = json.loads((home / "esp8266-original.bin.json").read_text())
    assert record["chip"] == "ESP8266", record
    assert "SHA-256 matches the record: True" in outputs[FLASH_CELLS[2]], outputs
    assert "Flash erased" in outputs["%erase --yes"], outputs
    assert "verified (MD5 on the chip)" in outputs["%flash firmware.bin"], outputs
    assert "verified" in outputs[FLASH_CELLS[-1]], outputs


def test_a_student_cannot_reach_another_students_server_or_kernel(
    hub: Hub, class_: list[Student]
) -> None:
    """With their own API token, a student gets nothing of another student's: not their
    server (its URL), not their kernel (its id, through their own server), not their user
    record at the hub."""
    alice, bob = class_[0].name, class_[1].name
    token = hub.user_token(alice)
    status, kernels = hub.request("GET", f"{hub.url}/user/{bob}/api/kernels", token=token)
    assert status in (302, 403, 404), (status, kernels)
    own = hub.request("GET", f"{hub.url}/user/{alice}/api/kernels", token=token)
    assert own[0] == 200, own
    admin_view = hub.request("GET", f"{hub.url}/user/{bob}/api/kernels", token=hub.user_token(bob))
    assert admin_view[0] == 200, admin_view
    bob_kernels = [k["id"] for k in json.loads(admin_view[1])]
    assert bob_kernels, "bob's kernel is not running"
    for kernel_id in bob_kernels:
        status, _ = hub.request(
            "GET", f"{hub.url}/user/{alice}/api/kernels/{kernel_id}", token=token
        )
        assert status == 404, f"alice's server knows bob's kernel {kernel_id}: {status}"
        status, _ = hub.request("GET", f"{hub.url}/user/{bob}/api/kernels/{kernel_id}", token=token)
        assert status in (302, 403, 404), status
    status, _ = hub.api("GET", f"/users/{bob}", token=token)
    assert status in (403, 404), status
    status, _ = hub.api("POST", f"/users/{bob}/server", token=token)
    assert status in (403, 404), status
    # and no token at all: the hub's login, not the server
    status, _ = hub.request("GET", f"{hub.url}/user/{bob}/api/kernels")
    assert status in (302, 403), status


def kernel_of(hub: Hub, student: str) -> tuple[str, str]:
    """(the id of the student's running kernel, a token of theirs)."""
    token = hub.user_token(student)
    status, body = hub.request("GET", f"{hub.url}/user/{student}/api/kernels", token=token)
    assert status == 200, (status, body)
    kernels = json.loads(body)
    assert kernels, f"{student} runs no kernel"
    return kernels[0]["id"], token


#: In a student's tab: open the board link of `url` as the page's own code would, and say
#: whether the server let it open (a refused WebSocket never opens).
TRY_LINK = """url => new Promise(resolve => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const timer = setTimeout(() => { ws.close(); resolve('no answer'); }, 60000);
    ws.onopen = () => { clearTimeout(timer); ws.close(); resolve('opened'); };
    ws.onclose = event => { clearTimeout(timer); resolve('refused ' + event.code); };
})"""


def test_no_page_or_link_request_reaches_another_students_board(
    hub: Hub, class_: list[Student], tmp_path: Path
) -> None:
    """Another student's board is out of reach: from a student's own tab (their cookies),
    a link WebSocket for another student's kernel, on their own server or on the other's,
    never opens; forged link requests (another student's kernel id on one's own server,
    another student's server URL with one's own token, no token, a made-up token) are
    refused, and so is a second page for a kernel whose page holds its board. The owner's
    board works on."""
    alice, bob = class_[0], class_[1]
    bob_kernel, bob_token = kernel_of(hub, bob.name)
    alice_kernel, alice_token = kernel_of(hub, alice.name)
    assert alice_kernel != bob_kernel
    ws = hub.url.replace("http://", "ws://")
    for url in (
        f"{ws}/user/{alice.name}/mpkernel/link/{bob_kernel}",
        f"{ws}/user/{bob.name}/mpkernel/link/{bob_kernel}",
    ):
        said = alice.page.evaluate(TRY_LINK, url)
        assert said.startswith("refused"), f"alice's tab: {url}: {said}"
    with VirtualBoard(root=tmp_path / "intruder") as intruder:
        forged = [
            (f"{hub.url}/user/{alice.name}/", bob_kernel, alice_token),
            (f"{hub.url}/user/{bob.name}/", bob_kernel, alice_token),
            (f"{hub.url}/user/{bob.name}/", bob_kernel, None),
            (f"{hub.url}/user/{bob.name}/", bob_kernel, hub.admin_token[:-4] + "abcd"),
            # bob's own token, but bob's tab holds his board: never two writers
            (f"{hub.url}/user/{bob.name}/", bob_kernel, bob_token),
        ]
        for base, kernel_id, token in forged:
            with pytest.raises(PageRefused):
                BrowserPage(base, kernel_id, intruder.port, token).start()
    out = done(bob.start(STILL)).inner_text()
    assert f"still {bob.name}" in out, out


def test_proxy_restart_keeps_every_students_board(hub: Hub, class_: list[Student]) -> None:
    """The hub's proxy dies and the hub starts it again. Every page's board link went through
    it and ended with it: each student's next cell says so in one line, they connect again
    with the panel's button, and their board still holds its variables (connecting never
    resets)."""
    run_at_once(class_, KEEP)
    hub.restart_proxy([s.name for s in class_])
    for s, out in zip(class_, run_at_once(class_, SHOW_KEPT), strict=True):
        assert out.strip().startswith("The page that held the board closed"), (s.name, out)
        assert "\n" not in out.strip(), out
    panels = [s.click_connect() for s in class_]
    for s, panel in zip(class_, panels, strict=True):
        s.wait_connected(panel)
    for s, out in zip(class_, run_at_once(class_, SHOW_KEPT_AGAIN), strict=True):
        assert f"still kept {s.name}" in out, out


def test_a_tab_closed_mid_cell_is_one_line_when_they_come_back(
    hub: Hub, class_: list[Student]
) -> None:
    """One student's tab closes while a cell runs on their board; the others' cells run on.
    When the student opens the notebook again, their first cell says in one line that the
    board's link ended with the closed tab; they connect the board again and go on, on
    their own board."""
    leaver, others = class_[0], class_[1:4]
    cell = leaver.start(TICKS)
    expect(cell.locator(".jp-Cell-outputArea")).to_contain_text("tick 1")
    leaver.page.close()
    cells = [s.start(STILL) for s in others]
    for s, c in zip(others, cells, strict=True):
        out = done(c).inner_text()
        assert f"still {s.name}" in out, out
    leaver.page = leaver.new_page()
    leaver.page.goto(leaver.lab_url)
    leaver.wait_ready()
    told = done(leaver.start(RETURNED))
    expect(told.locator(".jp-OutputArea-output")).to_have_count(1)  # one output, one line
    text = told.inner_text().strip()
    assert "Not connected: the link ended in an earlier cell." in text, text
    assert "closed" in text and "Traceback" not in text and "\n" not in text, text
    leaver.connect_board()
    out = done(leaver.start(BACK)).inner_text()
    assert f"back on {leaver.name}" in out, out
    outs = run_at_once(class_[:4], AFTER)
    for s, out in zip(class_[:4], outs, strict=True):
        assert f"after {s.name}" in out, out


#: The tutorial's WebREPL section, then its way back to the cable (a second bare %connect).
WEBREPL_CELLS = [
    tutorial_cell("%webrepl setup"),
    tutorial_cell("%reset --hard"),
    tutorial_cell("%webrepl connect"),
    tutorial_cell('import sys\nprint("this cell ran over WebREPL'),
]


def test_webrepl_on_a_hub_on_the_boards_network(hub: Hub, class_: list[Student]) -> None:
    """A hub on the boards' own network (here one machine) reaches a board's WebREPL: a
    student runs the tutorial's WebREPL section through their page (the password typed in
    the hidden box, never shown), their kernel on the hub moves to the board's WebREPL,
    runs a cell there on their own board, and the tutorial's second %connect takes the
    page's board again."""
    student, password = class_[-1], "hub-lab1"
    outputs = []
    for source in WEBREPL_CELLS:
        cell = student.start(source)
        if "%webrepl setup" in source or "%webrepl connect" in source:
            student.type_password(cell, password)
        outputs.append(done(cell).inner_text())
    setup, status, connect, over = outputs
    assert "WebREPL enabled" in setup, setup
    assert "Listens on ws://127.0.0.1:" in status, status
    assert "via WebREPL at ws://127.0.0.1:" in connect, connect
    assert "this cell ran over WebREPL on linux" in over, over
    back = done(student.start("%connect", nth=1)).inner_text()
    assert "via the board on this browser's computer" in back, back
    owner = done(student.start(STILL)).inner_text()
    assert f"still {student.name}" in owner, owner
    shown = student.page.locator(".jp-NotebookPanel:visible .jp-Notebook").inner_text()
    assert password not in shown, "the WebREPL password reached the notebook"


def test_hub_doc_quotes_the_config_the_test_uses() -> None:
    """install/jupyterhub.md shows the mpkernel lines of the hub's config as the test runs them."""
    doc = (ROOT / "install" / "jupyterhub.md").read_text()
    assert MPKERNEL_CONFIG in doc
    # the server extension the doc says pip enables is the one the wheel enables
    enabled = json.loads(
        (ROOT / "jupyter-config" / "jupyter_server_config.d" / "mpkernel.json").read_text()
    )["ServerApp"]["jpserver_extensions"]
    assert enabled == {"mpkernel.serverext": True} and "mpkernel.serverext" in doc
    # every recipe registers the kernel as the tests' hub has it (the spec from the package)
    assert doc.count("-m mpkernel install --sys-prefix") >= 3
