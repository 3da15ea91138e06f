"""A class on a real JupyterHub: students log in, open the getting-started notebook in
JupyterLab with the MicroPython kernel, and run the tutorial's cells at the same time.

The hub (tests/hub.py) runs on 127.0.0.1 with the dummy authenticator and local processes;
each student logs in through /hub/login in a browser context of their own (Playwright with
Debian's Chromium). Each student's kernel gets its own virtual board, whose
`machine.unique_id()` is its own. N students: $MPKERNEL_HUB_STUDENTS (CI: 10); bench/bench_hub.py
runs 30. Skipped (with the reason) without `sh install/jupyterhub.sh` or Chromium.
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
from browser_page import BrowserPage, PageRefused
from hub import MPKERNEL_CONFIG, Hub, missing, processes_under, running_hub

from mpkernel.board.links.ports import find_boards
from mpkernel.board.virtual.board import VirtualBoard

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright not installed (sh install/test-tools.sh)"
)
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("MPKERNEL_CHROMIUM", "/usr/bin/chromium")
if missing():
    if os.environ.get("CI") == "true":  # .ci/run installs it: missing there is a failure
        raise RuntimeError(f"CI: {missing()}")
    pytest.skip(str(missing()), allow_module_level=True)
if not Path(CHROMIUM).exists():
    pytest.skip(f"no browser at {CHROMIUM} (sh install/test-tools.sh)", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "notebooks" / "01-getting-started-esp8266.ipynb"
STUDENTS = int(os.environ.get("MPKERNEL_HUB_STUDENTS", "10"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
STEP = 240_000  # ms: one step for the whole class on a busy 2-core machine
#: The tutorial's cells the class runs, in order (its own sources, matched exactly).
TUTORIAL_CELLS = [
    "%connect",
    "%chipinfo",
    "1 + 2",
    "import sys\nprint(sys.implementation.name, sys.version)",
    "%wifi scan",
]
pytestmark = [pytest.mark.timeout(1800)]
expect.set_options(timeout=STEP)


def notebook_for(student: str) -> nbformat.NotebookNode:
    """The tutorial, plus two cells after its Python version: the student's name written to
    the board's flash, then the board's id and that file read back."""
    nb = nbformat.read(TUTORIAL, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.source.startswith("import sys")) + 1
    nb.cells[at:at] = [
        nbformat.v4.new_code_cell(f'open("owner.txt", "w").write("{student}")'),
        nbformat.v4.new_code_cell(
            'import machine\nprint("board", machine.unique_id(), "of", open("owner.txt").read())'
        ),
    ]
    nb.cells += [nbformat.v4.new_code_cell(c.format(student=student)) for c in EXTRA_CELLS]
    return nb


#: Cells the later tests run, at the notebook's end (found by their source, as the tutorial's).
KEEP = 'kept = "{student}"'
SHOW_KEPT = "print('kept', kept)"
TICKS = "import time\nfor i in range(8):\n    print('tick', i)\n    time.sleep(0.5)"
STILL = 'print("still", open("owner.txt").read())'
BACK = 'print("back on", open("owner.txt").read())'
VIA_PAGE = '%connect browser\nprint("via", open("owner.txt").read())'
OFF_PAGE = '%connect\nopen("owner.txt", "w").write("{student}")'
EXTRA_CELLS = [KEEP, SHOW_KEPT, TICKS, STILL, BACK, VIA_PAGE, OFF_PAGE]

OWN_CELLS = [
    'open("owner.txt", "w").write("{student}")',
    'import machine\nprint("board", machine.unique_id(), "of", open("owner.txt").read())',
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if find_boards():
        pytest.skip("a board is plugged in: the tutorial's bare %connect would pick it")
    # Homes as deep as pytest's folders: each student's link socket path is over 107 bytes.
    folder = tmp_path_factory.mktemp("hub")
    try:
        with running_hub(folder) as running:
            yield running
        left = processes_under(folder)
        assert not left, f"processes of the hub still running after it stopped: {left}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:
            pytest.skip(f"Chromium at {CHROMIUM} failed to start: {str(exc).splitlines()[0]}")
        yield b
        b.close()


class Student:
    """One student: a browser context of their own, logged in, with the tutorial open."""

    def __init__(self, hub: Hub, browser: Browser, name: str) -> None:
        self.hub, self.name = hub, name
        home = hub.home(name)
        nbformat.write(notebook_for(name), home / TUTORIAL.name)
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.context.set_default_timeout(STEP)
        self.page = self.new_page()

    def new_page(self) -> Page:
        """A tab of this student's; a "Server unavailable" dialog (JupyterLab polled while the
        hub's proxy restarted) is dismissed whenever it gets in the way of a click."""
        page = self.context.new_page()
        unavailable = page.locator('dialog.jp-Dialog[aria-label*="Server unavailable"]')
        page.add_locator_handler(unavailable, lambda d: d.locator(".jp-mod-reject").click())
        return page

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
        idle = '.jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator[data-status="idle"]'
        expect(self.page.locator(idle)).to_have_count(1, timeout=STEP)
        dismiss(self.page)

    def cell(self, source: str) -> Locator:
        exact = re.compile(f"^{re.escape(source.replace(chr(10), ''))}$")
        found = self.page.locator(".jp-NotebookPanel:visible .jp-CodeCell").filter(
            has=self.page.locator(".cm-content", has_text=exact)
        )
        return found.first

    def start(self, source: str) -> Locator:
        """Run the cell holding `source`: it is queued or running once its prompt shows [*]
        or a number (a Shift+Enter lost on a busy machine is pressed again)."""
        cell = self.cell(source.format(student=self.name))
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


def dismiss(page: Page) -> None:
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
    for close in page.locator(".jp-Notification-Toast-Close").all():
        if close.is_visible():
            close.click()


def done(cell: Locator) -> Locator:
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=STEP)
    return cell.locator(".jp-Cell-outputArea")


def run_at_once(class_: list[Student], source: str) -> list[str]:
    """Every student starts the cell, then each one's output is read once it is done."""
    cells = [s.start(source) for s in class_]
    return [done(cell).inner_text() for cell in cells]


@pytest.fixture(scope="module")
def class_(hub: Hub, browser: Browser) -> Iterator[list[Student]]:
    students = [Student(hub, browser, f"s{i:02d}") for i in range(1, STUDENTS + 1)]
    start = time.monotonic()
    for s in students:
        s.log_in()
    for s in students:
        s.wait_ready()
    print(f"{STUDENTS} students logged in, JupyterLab ready: {time.monotonic() - start:.0f} s")
    yield students
    for s in students:
        s.close()


def test_class_runs_the_tutorial_at_once(hub: Hub, class_: list[Student]) -> None:
    """All students run the tutorial's cells at the same time; every output is their own
    board's: the board's id is its own, and the file each wrote reads back as theirs."""
    outputs: dict[str, list[str]] = {}
    for source in [*TUTORIAL_CELLS[:4], OWN_CELLS[0], TUTORIAL_CELLS[4], OWN_CELLS[1]]:
        outputs[source] = run_at_once(class_, source)
    for text in outputs["%connect"]:
        assert "virtual board" in text, text
    for text in outputs["%chipinfo"]:
        assert "[simulated]" in text and re.search(r"Chip:\s+ESP8266", text), text
    for text in outputs["1 + 2"]:
        assert text.strip().endswith("3"), text
    for text in outputs["%wifi scan"]:
        assert "network(s) found" in text, text
    ids = []
    for student, text in zip(class_, outputs[OWN_CELLS[1]], strict=True):
        # the id's repr is quoted with " when its bytes hold a '
        found = re.search(r"board (b(['\"])MPK.*?\2) of (\S+)", text)
        assert found, text
        assert found.group(3) == student.name, f"{student.name} reads another board: {text}"
        ids.append(found.group(1))
    assert len(set(ids)) == len(class_), f"two students share a board: {ids}"


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
    admin_view = hub.request(
        "GET", f"{hub.url}/user/{bob}/api/kernels", token=hub.user_token(bob)
    )
    assert admin_view[0] == 200, admin_view
    bob_kernels = [k["id"] for k in json.loads(admin_view[1])]
    assert bob_kernels, "bob's kernel is not running"
    for kernel_id in bob_kernels:
        status, _ = hub.request(
            "GET", f"{hub.url}/user/{alice}/api/kernels/{kernel_id}", token=token
        )
        assert status == 404, f"alice's server knows bob's kernel {kernel_id}: {status}"
        status, _ = hub.request(
            "GET", f"{hub.url}/user/{bob}/api/kernels/{kernel_id}", token=token
        )
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


def test_each_students_board_through_their_own_page_and_no_one_elses(
    hub: Hub, class_: list[Student], tmp_path: Path
) -> None:
    """A page (the Python test page) holds a board for each of two students, through the
    hub's proxy; each kernel's %connect browser reaches its own student's board. A forged
    link request (another student's kernel id on one's own server, another student's server
    URL with one's own token, no token) is refused and reaches no board."""
    alice, bob = class_[0], class_[1]
    boards, pages = {}, {}
    try:
        for s in (alice, bob):
            kernel_id, token = kernel_of(hub, s.name)
            folder = tmp_path / s.name
            folder.mkdir()
            (folder / "owner.txt").write_text(f"{s.name} on the page")
            boards[s.name] = VirtualBoard(root=folder)
            pages[s.name] = BrowserPage(
                f"{hub.url}/user/{s.name}/", kernel_id, boards[s.name].port, token
            ).start()
        cells = [s.start(VIA_PAGE) for s in (alice, bob)]
        for s, cell in zip((alice, bob), cells, strict=True):
            out = done(cell).inner_text()
            assert f"via {s.name} on the page" in out, out
        bob_kernel, bob_token = kernel_of(hub, bob.name)
        alice_kernel, alice_token = kernel_of(hub, alice.name)
        with VirtualBoard(root=tmp_path / "intruder") as intruder:
            forged = [
                (f"{hub.url}/user/{alice.name}/", bob_kernel, alice_token),
                (f"{hub.url}/user/{bob.name}/", bob_kernel, alice_token),
                (f"{hub.url}/user/{bob.name}/", bob_kernel, None),
                (f"{hub.url}/user/{bob.name}/", bob_kernel, hub.admin_token[:-4] + "abcd"),
            ]
            for base, kernel_id, token in forged:
                with pytest.raises(PageRefused):
                    BrowserPage(base, kernel_id, intruder.port, token).start()
            # a second page for a kernel that has one: refused, never two writers
            with pytest.raises(PageRefused):
                BrowserPage(f"{hub.url}/user/{bob.name}/", bob_kernel, intruder.port,
                            bob_token).start()  # fmt: skip
        out = done(bob.start(STILL)).inner_text()
        assert f"still {bob.name} on the page" in out, out
        assert alice_kernel != bob_kernel
    finally:
        for s in (alice, bob):
            with contextlib.suppress(Exception):
                done(s.start(OFF_PAGE))  # a virtual board of the kernel's own again
        for page in pages.values():
            page.stop()
        for board in boards.values():
            board.stop()


def test_proxy_restart_keeps_every_students_board(hub: Hub, class_: list[Student]) -> None:
    """The hub's proxy dies and the hub starts it again: each student's next cell reaches
    the same board, with its variables."""
    first, second = class_[0], class_[-1]
    for s in (first, second):
        done(s.start(KEEP))
    hub.restart_proxy()
    for s in (first, second):
        out = done(s.start(SHOW_KEPT)).inner_text()
        assert f"kept {s.name}" in out, out


def test_a_tab_closed_mid_cell_leaves_the_others_untouched(
    hub: Hub, browser: Browser, class_: list[Student]
) -> None:
    """One student's tab closes while a cell runs; the others' cells run on, and when the
    student comes back their kernel still holds their own board."""
    leaver, others = class_[0], class_[1:]
    cell = leaver.start(TICKS)
    expect(cell.locator(".jp-Cell-outputArea")).to_contain_text("tick 1")
    leaver.page.close()
    cells = [s.start(STILL) for s in others[:3]]
    for s, c in zip(others[:3], cells, strict=False):
        out = done(c).inner_text()
        assert f"still {s.name}" in out, out
    leaver.page = leaver.new_page()
    leaver.page.goto(f"{hub.url}/user/{leaver.name}/lab/tree/{TUTORIAL.name}")
    leaver.wait_ready()
    out = done(leaver.start(BACK)).inner_text()
    assert f"back on {leaver.name}" in out, out


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
