"""The kernel as a user meets it: JupyterLab (and Notebook 7) in a real browser.

Starts a JupyterLab server on a free localhost port, drives Debian's Chromium with
Playwright, opens the MicroPython card of the launcher and runs cells on the virtual
board, asserting on what the page shows; test_tutorial_in_lab runs the getting-started
notebook's own cells. Every run takes the screenshots of the steps, into a temporary
folder; with MPKERNEL_SCREENSHOTS=1 they go to docs/images/ (the README's pictures):

    MPKERNEL_SCREENSHOTS=1 .venv/bin/python -m pytest tests/test_browser*.py

Skipped (with the reason) where Playwright, JupyterLab or Chromium is missing or the
browser cannot start: `sh install/test-tools.sh` installs them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright not installed (sh install/test-tools.sh)"
)
pytest.importorskip("jupyterlab", reason="JupyterLab not installed (sh install/test-tools.sh)")

from playwright.sync_api import Locator, Page, expect, sync_playwright  # noqa: E402

from mpkernel.board.links.ports import find_boards  # noqa: E402

CHROMIUM = os.environ.get("MPKERNEL_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"no browser at {CHROMIUM} (apt-get install chromium, or sh install/test-tools.sh)",
        allow_module_level=True,
    )

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
SPEC_RESOURCES = ROOT / "mpkernel" / "resources" / "kernelspec"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 800}
#: The execution indicator of a notebook whose kernel is idle; it says so before the frontend
#: holds any kernel too (its first state), so wait_for_kernel also asks the page's kernel status.
IDLE = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
WAIT = 30_000  # ms: how long a step may take on a busy 2-core machine
pytestmark = [pytest.mark.timeout(300), pytest.mark.timing]
expect.set_options(timeout=WAIT)


def wait_for_kernel(page: Page, timeout: float = 60_000) -> None:
    """Until the page holds its notebook's started kernel, idle: JupyterLab's status bar says
    "MicroPython | Idle", Notebook 7's kernel status faded out. A cell run before then is
    dropped by the frontend (its prompt stays "[ ]")."""
    bar = page.locator(".jp-StatusBar-Widget .jp-StatusBar-TextItem")
    lab = bar.filter(has_text=re.compile(r"^MicroPython \| Idle$"))
    notebook7 = page.locator(".jp-NotebookKernelStatus-fade:not(.jp-NotebookKernelStatus-info)")
    expect(lab.or_(notebook7).first).to_be_attached(timeout=timeout)
    expect(page.locator(IDLE).first).to_be_attached(timeout=timeout)


def notebook_ready(page: Page) -> None:
    """The notebook the page opened shows its cells, with its kernel held and idle."""
    page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first.wait_for(state="visible")
    dismiss_dialogs(page)
    wait_for_kernel(page)


def open_new_notebook(page: Page, server: Server, workspace: str = "") -> None:
    """A new MicroPython notebook from JupyterLab's launcher (in `workspace`, if given)."""
    page.goto(server.page_url(f"/lab/workspaces/{workspace}" if workspace else "/lab"))
    card = page.locator('.jp-LauncherCard[title="MicroPython"]').first
    card.wait_for(state="visible", timeout=60_000)
    dismiss_dialogs(page)
    card.click()
    notebook_ready(page)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: docs/images/ with MPKERNEL_SCREENSHOTS=1, else a temporary
    folder (so a test run leaves the working tree as it was)."""
    if os.environ.get("MPKERNEL_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        return IMAGES
    return tmp_path_factory.mktemp("screenshots")


class Server:
    def __init__(self, url: str, token: str, root: Path) -> None:
        self.url, self.token, self.root = url, token, root

    def page_url(self, path: str) -> str:
        return f"{self.url}{path}?token={self.token}"


@pytest.fixture(scope="module")
def server(kernelspec: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`jupyter lab` (which also serves Notebook 7's /tree and /notebooks) in a temp dir."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "work"
    root.mkdir()
    # The kernelspec as installed (with its logos), running this interpreter.
    spec_root = tmp / "share"
    spec = spec_root / "kernels" / "micropython"
    shutil.copytree(SPEC_RESOURCES, spec)
    kernel_json = json.loads((spec / "kernel.json").read_text())
    kernel_json["argv"] = [sys.executable, "-m", "mpkernel", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps(kernel_json))
    # User settings of this run only: no news prompt, no update check.
    settings = tmp / "settings"
    notif = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notif.parent.mkdir(parents=True)
    notif.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # a folded section is one line (no "n cells hidden" button under it): the tutorial's picture
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"showHiddenCellsButton": False}))
    env = {
        **os.environ,
        "JUPYTER_PATH": os.pathsep.join([str(spec_root), os.environ.get("JUPYTER_PATH", "")]),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
    }
    port, token = free_port(), secrets.token_hex(16)
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
            "--LabApp.extension_manager=readonly",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a busy 2-core machine: over 60 s was seen
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited: {(tmp / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"jupyter lab did not start: {(tmp / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.3)
        yield Server(url, token, root)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        try:
            context = p.chromium.launch_persistent_context(
                str(profile),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport=VIEWPORT,
            )
        except Exception as exc:  # the browser is there but cannot start here
            pytest.skip(f"Chromium at {CHROMIUM} failed to start: {str(exc).splitlines()[0]}")
        context.set_default_timeout(WAIT)
        yield context
        context.close()


def dismiss_dialogs(page: Page) -> None:
    """Accept a dialog JupyterLab may show (e.g. 'Select Kernel'); close notifications."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
        expect(dialog).to_have_count(0)
    for close in page.locator(".jp-Notification-Toast-Close").all():
        if close.is_visible():
            close.click()


def open_notebook7(page: Page, server: Server, name: str, sources: list[str]) -> Locator:
    """Write a MicroPython notebook of `sources` to the server's folder and open it in
    Notebook 7; its cells, once all are shown."""
    doc = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in sources],
        metadata={"kernelspec": {"name": "micropython", "display_name": "MicroPython"}},
    )
    nbformat.write(doc, server.root / name)
    page.goto(server.page_url(f"/notebooks/{name}"))
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(len(sources), timeout=60_000)
    dismiss_dialogs(page)
    return cells


def file_editor(page: Page, name: str) -> Locator:
    """The text of the editor tab `name`: one of several open editors, by its tab's name."""
    return page.get_by_role("tabpanel", name=name, exact=True).locator(".jp-FileEditor .cm-content")


class Notebook:
    """The open notebook: type code into its last (empty) cell and run it with Shift+Enter."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.cells = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")

    def last_cell(self) -> Locator:
        return self.cells.nth(self.cells.count() - 1)

    def type_in_new_cell(self, code: str) -> Locator:
        """Put code into the last cell (JupyterLab keeps an empty one at the end)."""
        cell = self.last_cell()
        editor = cell.locator(".cm-content")
        editor.click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.press("Delete")
        # insert_text: no key events, so no auto-indent doubling the typed indentation
        self.page.keyboard.insert_text(code)
        expect(editor).to_contain_text(code.splitlines()[0])
        return cell

    def run(self, code: str, wait: bool = True) -> Locator:
        cell = self.type_in_new_cell(code)
        self.page.keyboard.press("Shift+Enter")
        if wait:
            self.wait_done(cell)
        return cell

    def wait_done(self, cell: Locator, timeout: float = WAIT) -> None:
        expect(cell.locator(".jp-InputPrompt")).to_have_text(
            re.compile(r"\[\d+\]"), timeout=timeout
        )

    @staticmethod
    def output(cell: Locator) -> Locator:
        return cell.locator(".jp-Cell-outputArea")


@pytest.fixture(scope="module")
def lab(browser, server: Server) -> Iterator[tuple[Page, Notebook]]:
    """JupyterLab's launcher -> the MicroPython card -> a new notebook, connected to the
    virtual board."""
    page = browser.new_page()
    page.goto(server.page_url("/lab"))
    card = page.locator('.jp-LauncherCard[title="MicroPython"]').first
    card.wait_for(state="visible", timeout=60_000)
    yield page, Notebook(page)
    page.close()


# ---------------------------------------------------------------- JupyterLab


def test_launcher_card_shows_logo_and_opens_notebook(
    lab: tuple[Page, Notebook], shots: Path
) -> None:
    page, nb = lab
    dismiss_dialogs(page)
    card = page.locator('.jp-LauncherCard[title="MicroPython"]').first
    logo = card.locator("img")
    expect(logo).to_be_visible()
    assert "micropython" in (logo.get_attribute("src") or "")
    width = logo.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 0, "the MicroPython logo did not load"
    page.screenshot(path=shots / "lab-launcher.png")
    card.click()
    notebook_ready(page)
    expect(page.locator(".jp-NotebookPanel:visible .jp-KernelName")).to_contain_text("MicroPython")
    cell = nb.run("%connect virtual", wait=False)
    nb.wait_done(cell, timeout=60_000)
    expect(nb.output(cell)).to_contain_text("Connected")


def test_output_streams_while_cell_runs(lab: tuple[Page, Notebook], shots: Path) -> None:
    page, nb = lab
    cell = nb.run(
        "import time\nfor i in range(5):\n    print('tick', i)\n    time.sleep(0.5)", wait=False
    )
    out = nb.output(cell)
    expect(out).to_contain_text("tick 1")
    assert "tick 4" not in out.inner_text(), "output arrived all at once, not streamed"
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\*\]"))
    page.screenshot(path=shots / "lab-streaming.png")
    expect(out).to_contain_text("tick 4")
    nb.wait_done(cell)


def test_expression_value_shown_as_out(lab: tuple[Page, Notebook]) -> None:
    _, nb = lab
    cell = nb.run("1 + 2")
    result = cell.locator(".jp-OutputArea-executeResult")
    expect(result).to_contain_text("3")
    expect(result.locator(".jp-OutputPrompt")).to_have_text(re.compile(r"\[\d+\]"))


def test_error_rendered_as_error(lab: tuple[Page, Notebook], server: Server, shots: Path) -> None:
    page, nb = lab
    cell = nb.run("1/0")
    err = cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    expect(err).to_contain_text("ZeroDivisionError")
    page.screenshot(path=shots / "lab-error.png")
    # and it is an `error` output (not just red text): save and look in the file
    page.keyboard.press("Escape")
    page.keyboard.press("ControlOrMeta+s")
    dismiss_dialogs(page)
    path = server.root / "Untitled.ipynb"
    deadline = time.monotonic() + 15
    errors: list[str] = []
    while time.monotonic() < deadline and not errors:
        if path.exists():
            try:
                saved = nbformat.read(path, as_version=4)
            except Exception:
                saved = None
            if saved:
                errors = [
                    o["ename"]
                    for c in saved.cells
                    for o in c.get("outputs", [])
                    if o["output_type"] == "error"
                ]
        time.sleep(0.3)
    assert "ZeroDivisionError" in errors


def test_stop_button_interrupts(lab: tuple[Page, Notebook]) -> None:
    page, nb = lab
    cell = nb.run("while True:\n    pass", wait=False)
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\*\]"))
    time.sleep(1)
    page.locator(
        '.jp-NotebookPanel:visible .jp-Toolbar [data-command="notebook:interrupt-kernel"]'
    ).first.click()
    expect(nb.output(cell)).to_contain_text("KeyboardInterrupt")
    nb.wait_done(cell)
    after = nb.run("print('still here')")
    expect(nb.output(after)).to_contain_text("still here")


def complete_in_new_cell(
    page: Page, nb: Notebook, code: str, name: str, image: Path | None = None
) -> None:
    """Type code, press Tab at its end, expect `name` among the completer's items."""
    nb.type_in_new_cell(code)
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.press("Tab")
    completer = page.locator(".jp-Completer")
    try:
        expect(completer).to_be_visible(timeout=10_000)
        expect(completer.locator(".jp-Completer-item", has_text=name).first).to_be_visible()
        if image:
            page.screenshot(path=image)
    finally:
        page.keyboard.press("Escape")
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.press("Delete")


def test_tab_completion_lists_board_module(lab: tuple[Page, Notebook], shots: Path) -> None:
    page, nb = lab
    nb.run("import machine")
    complete_in_new_cell(page, nb, "machine.", "Pin", shots / "lab-completion.png")


def test_tab_completion_of_module_imported_in_same_cell(lab: tuple[Page, Notebook]) -> None:
    page, nb = lab
    forget = "import sys\nsys.modules.pop('machine', None)\n"
    nb.run(forget + "try:\n    del machine\nexcept NameError:\n    pass")
    complete_in_new_cell(page, nb, "import machine\nmachine.", "Pin")


def test_progress_bar_for_put(lab: tuple[Page, Notebook], server: Server, shots: Path) -> None:
    page, nb = lab
    (server.root / "data.bin").write_bytes(bytes(range(256)) * 64)  # 16 KiB
    cell = nb.run("%put data.bin", wait=False)
    widget = nb.output(cell).locator(".widget-progress, .jupyter-widgets .progress")
    expect(widget.first).to_be_visible()
    nb.wait_done(cell)
    expect(nb.output(cell)).to_contain_text("put")
    page.screenshot(path=shots / "lab-progress.png")


def test_wifi_widget_lists_networks(lab: tuple[Page, Notebook], shots: Path) -> None:
    page, nb = lab
    cell = nb.run("%wifi")
    select = nb.output(cell).locator(".widget-dropdown select")
    expect(select).to_be_visible()
    expect(select.locator("option", has_text="MakerSpace")).to_have_count(1)
    expect(nb.output(cell)).to_contain_text("network(s) found")
    # pick it, as a user would, so the screenshot shows a network in the box
    option = select.locator("option", has_text="MakerSpace")
    select.select_option(value=option.get_attribute("value"))
    expect(select.locator("option:checked")).to_contain_text("MakerSpace")
    page.screenshot(path=shots / "lab-wifi.png")


# ---------------------------------------------------------------- the tutorial

TUTORIAL = ROOT / "notebooks" / "01-getting-started-esp8266.ipynb"


def tutorial_cell(page: Page, source: str) -> Locator:
    """The tutorial's first code cell whose source is exactly `source`."""
    exact = re.compile(f"^{re.escape(source.replace(chr(10), ''))}$")  # lines: no newlines
    cell = page.locator(".jp-NotebookPanel:visible .jp-CodeCell").filter(
        has=page.locator(".cm-content", has_text=exact)
    )
    expect(cell.first).to_be_attached()
    return cell.first


def run_tutorial_cell(page: Page, source: str) -> Locator:
    cell = tutorial_cell(page, source)
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    Notebook(page).wait_done(cell, timeout=60_000)
    return cell


def fold_section(page: Page, heading: str, cells_too: bool = True) -> None:
    """Fold a section of the notebook to a one-line bar: collapse its heading (select it,
    press the left arrow) unless not `cells_too`, then hide the heading cell's text (click
    its collapser)."""
    cell = page.locator(".jp-NotebookPanel:visible .jp-MarkdownCell").filter(
        has=page.locator("h2, .jp-PlaceholderText", has_text=heading)
    )  # the heading as shown, then the one-line bar that stands for the cell
    if cells_too:
        cell.locator("h2").click()
        page.keyboard.press("ArrowLeft")
        expect(cell).to_have_class(re.compile(r"\bjp-MarkdownHeadingCollapsed\b"))
    cell.locator(".jp-Cell-inputCollapser").click()
    expect(cell.locator(".jp-InputPlaceholder")).to_contain_text(heading)


def test_tutorial_in_lab(browser, server: Server, shots: Path) -> None:
    """The getting-started notebook's own cells on the virtual board: the chip, a value,
    the WiFi networks, and the WiFi panel in a cell added above them; the README's top picture."""
    if find_boards():
        pytest.skip("a board is plugged in: the tutorial's bare %connect would pick it")
    folder = server.root / "tutorial"
    folder.mkdir()
    shutil.copy(TUTORIAL, folder / TUTORIAL.name)
    cells_in_file = len(nbformat.read(TUTORIAL, as_version=4).cells)
    page = browser.new_page()
    try:
        page.set_viewport_size({"width": 1280, "height": 1100})  # %chipinfo is 20 lines
        # a workspace of its own, so the other tests' open notebooks are not restored
        page.goto(server.page_url(f"/lab/workspaces/tutorial/tree/tutorial/{TUTORIAL.name}"))
        cells = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")
        expect(cells).to_have_count(cells_in_file, timeout=60_000)
        dismiss_dialogs(page)
        wait_for_kernel(page)

        connect = run_tutorial_cell(page, "%connect")
        expect(Notebook.output(connect)).to_contain_text("virtual board")
        chip = Notebook.output(run_tutorial_cell(page, "%chipinfo"))
        expect(chip).to_contain_text("[simulated]")
        expect(chip).to_contain_text(re.compile(r"Chip:\s+ESP8266"))
        value = run_tutorial_cell(page, "1 + 2").locator(".jp-OutputArea-executeResult")
        expect(value).to_have_text(re.compile(r"\[\d+\]:\s*3$"))
        version = Notebook.output(
            run_tutorial_cell(page, "import sys\nprint(sys.implementation.name, sys.version)")
        )
        expect(version).to_contain_text("micropython")
        # the WiFi panel, in a cell a reader adds above the scan
        tutorial_cell(page, "%wifi scan").locator(".jp-InputPrompt").click()
        page.keyboard.press("a")
        expect(cells).to_have_count(cells_in_file + 1)
        panel_cell = tutorial_cell(page, "%wifi scan").locator("xpath=preceding-sibling::*[1]")
        panel_cell.locator(".cm-content").click()
        page.keyboard.insert_text("%wifi")
        page.keyboard.press("Shift+Enter")
        Notebook(page).wait_done(panel_cell)
        select = Notebook.output(panel_cell).locator(".widget-dropdown select")
        option = select.locator("option", has_text="MakerSpace")
        expect(option).to_have_count(1)
        select.select_option(value=option.get_attribute("value"))
        expect(select.locator("option:checked")).to_contain_text("MakerSpace")
        scan = Notebook.output(run_tutorial_cell(page, "%wifi scan"))
        expect(scan.locator("td", has_text="MakerSpace")).to_have_count(1)
        expect(scan).to_contain_text("network(s) found")

        for heading in ("1. Find", "3. Back up", "4. Erase", "5. Flash"):
            fold_section(page, heading)
        fold_section(page, "7. Join", cells_too=False)
        panel_cell.locator(".jp-InputPrompt").click()  # the last cell run stays selected
        page.keyboard.press("ControlOrMeta+b")  # the left sidebar closes: room for outputs
        expect(page.locator("#jp-left-stack")).to_be_hidden()
        tutorial_cell(page, "%chipinfo").evaluate("c => c.scrollIntoView({block: 'start'})")
        for shown in (chip, value, version, Notebook.output(panel_cell)):  # all in the picture
            expect(shown).to_be_in_viewport(ratio=1)
        page.screenshot(path=shots / "tutorial.png")
    finally:
        page.close()


# ---------------------------------------------------------------- Notebook 7


def test_notebook7_runs_cells(browser, server: Server, shots: Path) -> None:
    pytest.importorskip("notebook", reason="Notebook 7 not installed (sh install/test-tools.sh)")
    nb_file = server.root / "nb7.ipynb"
    page = browser.new_page()
    try:
        cells = open_notebook7(page, server, nb_file.name, ["%connect virtual", "6*7"])
        expect(page.locator(".jp-KernelName, .jp-NotebookKernelName").first).to_contain_text(
            "MicroPython"
        )
        # The kernel's name shows while its session is still being created
        wait_for_kernel(page)
        cells.nth(0).locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        expect(cells.nth(0).locator(".jp-InputPrompt")).to_have_text(
            re.compile(r"\[\d+\]"), timeout=60_000
        )
        expect(cells.nth(0).locator(".jp-Cell-outputArea")).to_contain_text("Connected")
        page.keyboard.press("Escape")
        cells.nth(1).locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        expect(cells.nth(1).locator(".jp-OutputArea-executeResult")).to_contain_text("42")
        page.screenshot(path=shots / "notebook7.png")
    finally:
        page.close()
