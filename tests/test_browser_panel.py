"""The board panel (the extension) in a real browser: JupyterLab and Notebook 7 with the
virtual board. Same server and Chromium set-up as test_browser.py; screenshots of the panel,
the board file editor and the console go where test_browser.py says (docs/images/ with
MPKERNEL_SCREENSHOTS=1, else a temporary folder)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from test_browser import (  # the fixtures and helpers of the browser tests
    WAIT,
    Notebook,
    Server,
    browser,
    file_editor,
    open_new_notebook,
    open_notebook7,
    server,
    shots,
)

__all__ = ["browser", "server", "shots"]  # fixtures, used by name
pytestmark = pytest.mark.timeout(400)

PANEL_TAB = '.lm-TabBar-tab[data-id="mpkernel-board-panel"]'
PANEL = "#mpkernel-board-panel"


class BoardPanel:
    """The panel as a user sees it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.node = page.locator(PANEL)
        self.files = self.node.locator(".mpk-Files-item")

    def open(self) -> None:
        if not self.node.is_visible():
            self.page.locator(PANEL_TAB).click()
        expect(self.node).to_be_visible()

    def ready(self) -> None:
        expect(self.node.locator(".mpk-Panel-reason")).to_have_text("")

    def button(self, label: str) -> Locator:
        return self.node.locator(".mpk-Button", has_text=re.compile(f"^{re.escape(label)}$"))

    def connect_virtual(self) -> None:
        self.ready()
        self.node.locator("select.mpk-Ports").select_option("virtual")
        self.button("Connect").click()
        expect(self.node.locator(".mpk-Panel-state")).to_contain_text("virtual board")

    def row(self, path: str) -> Locator:
        return self.node.locator(f'.mpk-Files-item[data-path="{path}"]')

    def drop_files(self, files: dict[str, bytes]) -> None:
        """Drag files from the desktop onto the file list (a real drop event)."""
        payload = {name: base64.b64encode(data).decode() for name, data in files.items()}
        self.node.locator(".mpk-Files").evaluate(
            """(node, files) => {
                const dt = new DataTransfer();
                for (const [name, b64] of Object.entries(files)) {
                    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                    dt.items.add(new File([bytes], name));
                }
                node.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true}));
                node.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
            }""",
            payload,
        )

    def row_action(self, path: str, title: str) -> None:
        row = self.row(path)
        row.hover()
        row.locator(f'.mpk-Button[title="{title}"]').click()


def close_tab(page: Page, name: str) -> None:
    """Close the main area's tab `name` (an editor the next tests must not find open)."""
    page.locator(".lm-DockPanel .lm-TabBar-tabCloseIcon").and_(
        page.get_by_title(f"Close {name}", exact=True)
    ).click()


def wait_while_said(
    page: Page, done: Callable[[set[str]], bool], seconds: float, what: str
) -> None:
    """Wait until done(what the page notified so far) holds: every toast seen is kept (a
    toast closes after a while), and a wait that runs out says them all."""
    said: set[str] = set()
    deadline = time.monotonic() + seconds
    while not done(said):
        said.update(page.locator(".jp-toast-message").all_inner_texts())
        assert time.monotonic() < deadline, f"{what}; the page said {said}"
        page.wait_for_timeout(200)


def kept_for_flash(said: set[str]) -> bool:
    """The page says it keeps a port where no MicroPython answered (a new board)."""
    return any(line.startswith("The port stays open for %flash") for line in said)


def board_output(nb: Notebook, code: str) -> str:
    cell = nb.run(code)
    out = nb.output(cell)
    expect(out).not_to_be_empty()
    return out.inner_text()


@pytest.fixture(scope="module")
def lab(browser, server: Server) -> Iterator[tuple[Page, Notebook, BoardPanel]]:
    """A new MicroPython notebook in JupyterLab, with the Board panel open."""
    page = browser.new_page()
    open_new_notebook(page, server)
    panel = BoardPanel(page)
    panel.open()
    yield page, Notebook(page), panel
    page.close()


def test_panel_connects_and_status_bar_follows(lab) -> None:
    page, nb, panel = lab
    status = page.locator(".mpk-Status")
    panel.ready()
    expect(status).to_contain_text("not connected")
    panel.connect_virtual()
    expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("Free heap")
    expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("MicroPython")
    expect(status).to_contain_text(re.compile(r"virtual board · virtual · [\d.]+ [KM]B free"))
    expect(panel.node.locator(".mpk-Files-empty")).to_have_text("(empty)")
    # the next cell says what the panel connected to (and records provenance)
    expect(nb.output(nb.run("print(1 + 1)"))).to_contain_text("Connected to")
    nb.run("%disconnect")
    expect(status).to_contain_text("not connected")
    expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("not connected")
    panel.connect_virtual()
    expect(status).to_contain_text("virtual board")


def test_drop_upload_lands_byte_exact(lab, server: Server, shots: Path) -> None:
    page, nb, panel = lab
    data = os.urandom(30_000)
    panel.drop_files({"blob.bin": data, "hello.py": b"print('hello')\n"})
    expect(panel.row("blob.bin")).to_contain_text("29 KB")
    expect(panel.row("hello.py")).to_be_visible()
    digest = board_output(
        nb,
        "import hashlib, binascii\n"
        "print(binascii.hexlify(hashlib.sha256(open('blob.bin','rb').read()).digest()).decode())",
    )
    assert hashlib.sha256(data).hexdigest() in digest
    page.screenshot(path=shots / "panel-files.png")
    # binary: read-only hex view
    panel.row("blob.bin").dblclick()
    hex_view = page.locator(".jp-Dialog .mpk-Hex")
    expect(hex_view).to_contain_text("00000000  " + " ".join(f"{b:02x}" for b in data[:16]))
    page.locator(".jp-Dialog .jp-mod-accept").click()
    # download to the notebook's folder
    panel.row_action("blob.bin", "Download to the Jupyter working folder")
    expect(page.locator(".jp-toast-message", has_text="Downloaded blob.bin")).to_be_visible()
    assert (server.root / "blob.bin").read_bytes() == data


def test_panel_greys_while_a_cell_runs(lab) -> None:
    page, nb, panel = lab
    cell = nb.run("import time\ntime.sleep(3)", wait=False)
    expect(panel.node.locator(".mpk-Panel-reason")).to_contain_text("A cell is running")
    expect(panel.button("Soft reset")).to_be_disabled()
    expect(page.locator(".mpk-Status")).to_contain_text("(busy)")
    nb.wait_done(cell)
    expect(panel.node.locator(".mpk-Panel-reason")).to_have_text("")
    expect(panel.button("Soft reset")).to_be_enabled()
    expect(page.locator(".mpk-Status")).not_to_contain_text("busy")


def test_open_edit_save_board_file(lab, shots: Path) -> None:
    page, nb, panel = lab
    panel.row("hello.py").dblclick()
    editor = file_editor(page, "hello.py")
    expect(editor).to_contain_text("print('hello')")
    expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text="hello.py")).to_be_visible()
    editor.click()
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.insert_text("print('edited in the lab')\n")
    page.keyboard.press("ControlOrMeta+s")
    expect(page.locator(".lm-TabBar-tab.lm-mod-current.jp-mod-dirty")).to_have_count(0)
    page.screenshot(path=shots / "panel-editor.png")
    close_tab(page, "hello.py")  # the next tests rename and delete hello.py
    page.locator(".lm-TabBar-tab", has_text="Untitled").first.click()
    text = board_output(nb, "print(open('hello.py').read())")
    assert "edited in the lab" in text and "print('hello')" in text


def test_rename_and_delete(lab) -> None:
    page, _, panel = lab
    panel.row_action("hello.py", "Rename")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("renamed.py")
    dialog.locator(".jp-mod-accept").click()
    expect(panel.row("renamed.py")).to_be_visible()
    expect(panel.row("hello.py")).to_have_count(0)
    panel.row_action("renamed.py", "Delete")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.locator(".jp-mod-accept").click()
    expect(panel.row("renamed.py")).to_have_count(0)
    panel.button("+ folder").click()
    dialog.locator("input").fill("lib2")
    dialog.locator(".jp-mod-accept").click()
    expect(panel.row("lib2")).to_have_attribute("data-dir", "true")
    panel.row_action("lib2", "Delete")
    expect(dialog).to_contain_text("everything in it")
    dialog.locator(".jp-mod-accept").click()
    expect(panel.row("lib2")).to_have_count(0)


#: A board file name that must show as text: HTML that would run script if it were parsed
#: (and the test's other name has a right-to-left override, which would reverse it).
HTML_NAME = '<img src=x onerror="window.mpkPwned=1">.py'


def test_board_file_names_show_as_text_with_controls_escaped(lab) -> None:
    page, nb, panel = lab
    nb.run(f"for n in [{HTML_NAME!r}, 'evil\\u202etxt.py']:\n    open(n, 'w').close()")
    panel.node.locator('.mpk-Button[title="Refresh the list"]').click()
    names = panel.node.locator(".mpk-Files-name")
    expect(names.filter(has_text=HTML_NAME)).to_have_count(1)  # the name as text
    expect(names.filter(has_text="evil\\u202etxt.py")).to_have_count(1)  # escaped, in order
    assert page.evaluate("window.mpkPwned") is None  # the name was never parsed as HTML
    nb.run(f"import os\nfor n in [{HTML_NAME!r}, 'evil\\u202etxt.py']:\n    os.remove(n)")
    panel.node.locator('.mpk-Button[title="Refresh the list"]').click()
    expect(names.filter(has_text="evil")).to_have_count(0)


def kernel_pids() -> list[int]:
    """Our kernels' processes (started by the test's Jupyter server)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mpkernel" in cmdline and b"-f" in cmdline:
            found.append(int(proc.name))
    return found


def test_a_request_the_kernel_never_answers_gives_up_in_one_line(lab, server: Server) -> None:
    page, _, panel = lab
    page.evaluate("window.mpkernelRequestTimeoutMs = 3000")
    stopped = [pid for pid in kernel_pids() if str(server.root) in os.readlink(f"/proc/{pid}/cwd")]
    assert stopped
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)  # the kernel hears nothing, says nothing
    try:
        panel.node.locator('.mpk-Button[title="Refresh the list"]').click()
        expect(panel.node.locator(".mpk-Files-empty")).to_contain_text(
            "did not answer the panel (ls) within 3 s", timeout=20_000
        )
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        page.evaluate("delete window.mpkernelRequestTimeoutMs")
    panel.node.locator('.mpk-Button[title="Refresh the list"]').click()  # answered again
    expect(panel.node.locator(".mpk-Files")).not_to_contain_text("did not answer", timeout=30_000)


def test_greyed_for_another_kernel(lab) -> None:
    page, _, panel = lab
    page.locator(".lm-TabBar-addButton:visible").first.click()
    page.locator('.jp-LauncherCard[title^="Python 3"]').first.click()
    expect(panel.node.locator(".mpk-Panel-reason")).to_contain_text(
        "does not run the MicroPython kernel", timeout=60_000
    )
    expect(page.locator(".mpk-Status")).to_be_hidden()
    page.keyboard.press("Escape")
    page.locator(".lm-TabBar-tab", has_text="Untitled.ipynb").first.click()
    panel.ready()
    expect(page.locator(".mpk-Status")).to_contain_text("virtual board")


def file_browser_item(page: Page, name: str) -> Locator:
    """The item `name` in JupyterLab's file browser (opened, and refreshed)."""
    page.locator('.lm-TabBar-tab[data-id="filebrowser"]').click()
    page.locator('.jp-FileBrowser [data-command="filebrowser:refresh"]').first.click()
    item = page.locator(f'.jp-DirListing-item[title^="Name: {name}"]')
    expect(item).to_be_visible()
    return item


def test_upload_from_file_browser_menu_and_drag(lab, server: Server) -> None:
    page, nb, panel = lab
    (server.root / "from-lab.py").write_bytes(b"print('uploaded from the lab')\n")
    (server.root / "dragged.bin").write_bytes(bytes(range(256)) * 4)
    file_browser_item(page, "from-lab.py").click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Upload to board").click()
    panel.open()
    expect(panel.row("from-lab.py")).to_be_visible()
    # Dragging needs both in view: the Board panel goes to the right sidebar.
    page.locator(PANEL_TAB).click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Switch Sidebar Side").click()
    panel.open()
    item = file_browser_item(page, "dragged.bin")
    box = item.bounding_box()
    target = panel.node.locator(".mpk-Files-list").bounding_box()
    assert box and target
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(target["x"] + 30, target["y"] + 10, steps=10)
    page.mouse.up()
    expect(panel.row("dragged.bin")).to_contain_text("1.0 KB")
    digest = board_output(
        nb,
        "import hashlib, binascii\n"
        "print(binascii.hexlify(hashlib.sha256(open('dragged.bin','rb').read()).digest()).decode())",
    )
    assert hashlib.sha256(bytes(range(256)) * 4).hexdigest() in digest
    page.locator(PANEL_TAB).click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Switch Sidebar Side").click()
    panel.open()


def test_run_on_board_from_editor(lab, server: Server) -> None:
    page, _, panel = lab
    file_browser_item(page, "from-lab.py").dblclick()
    editor = file_editor(page, "from-lab.py")
    expect(editor).to_contain_text("uploaded from the lab")
    editor.click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Run on board").click()
    expect(page.locator(".mpk-Console-text")).to_contain_text("uploaded from the lab")
    close_tab(page, "from-lab.py")
    page.locator(".lm-TabBar-tab", has_text="Untitled").first.click()
    panel.open()


def test_console_shows_boot_output_after_hard_reset(lab, shots: Path) -> None:
    page, nb, panel = lab
    nb.run("with open('main.py', 'w') as f:\n    f.write(\"print('main.py says hi')\\n\")")
    panel.button("Hard reset").click()
    panel.button("Console").click()
    console = page.locator(".mpk-Console-text")
    expect(console).to_contain_text("main.py says hi")
    expect(page.locator(".mpk-Status")).to_contain_text("virtual board · virtual")
    page.screenshot(path=shots / "panel-console.png")
    page.locator(".mpk-Console .mpk-Button", has_text="Clear").click()
    expect(console).to_have_text("")
    nb.run("import os\nos.remove('main.py')")


def test_console_shows_output_printed_between_cells(lab) -> None:
    page, nb, panel = lab
    nb.run(
        "import _thread, time\n"
        "def _later():\n"
        "    for i in range(4):\n"
        "        time.sleep(0.3)\n"
        "        print('between cells', i)\n"
        "_thread.start_new_thread(_later, ())"
    )
    panel.button("Console").click()
    expect(page.locator(".mpk-Console-text")).to_contain_text("between cells 3")


def test_panel_survives_kernel_restart(lab) -> None:
    page, nb, panel = lab
    page.locator(".lm-TabBar-tab", has_text="Untitled").first.click()
    page.locator(
        '.jp-NotebookPanel:visible .jp-Toolbar [data-command="notebook:restart-kernel"]'
    ).first.click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    status = page.locator(".mpk-Status")
    expect(status).to_contain_text("not connected")
    panel.open()
    panel.connect_virtual()
    expect(status).to_contain_text("virtual board")
    expect(nb.output(nb.run("print(6 * 7)"))).to_contain_text("42")


def test_panel_follows_notebook_closed_and_reopened(lab) -> None:
    page, _, panel = lab
    tab = page.locator(".lm-TabBar-tab", has_text="Untitled.ipynb").first
    tab.click()
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    dialog = page.locator(".jp-Dialog")
    if dialog.count():  # unsaved changes: close without saving (the kernel keeps running)
        dialog.locator("button", has_text=re.compile("Discard|Don.t Save")).first.click()
    expect(panel.node.locator(".mpk-Panel-reason")).not_to_have_text("")
    file_browser_item(page, "Untitled.ipynb").dblclick()
    panel.open()
    panel.ready()
    expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("virtual board")
    expect(page.locator(".mpk-Status")).to_contain_text("virtual board")


def saved_workspace(page: Page) -> str:
    """The workspace JupyterLab saved on the server, as JSON text."""
    return str(
        page.evaluate(
            """async () => {
                const c = JSON.parse(document.getElementById('jupyter-config-data').textContent);
                const url = c.baseUrl + 'lab/api/workspaces/' + (c.workspace || 'default');
                const r = await fetch(url, {headers: {Authorization: 'token ' + c.token}});
                return await r.text();
            }"""
        )
    )


def test_workspace_restored_with_a_board_file_open(lab) -> None:
    """Reloading JupyterLab restores its workspace, a board file's editor included: the
    file loads once the notebook's kernel has its board channel again, with no "File Load
    Error ... No MicroPython kernel in focus" dialog."""
    page, nb, panel = lab
    nb.run("%%writefile restored.py\nprint('kept across a reload')")
    # A Python notebook restored after the MicroPython one: the board followed before the
    # reload is followed after it, whichever notebook JupyterLab restores last.
    page.locator(".lm-TabBar-addButton:visible").first.click()
    page.locator('.jp-LauncherCard[title^="Python 3"]').first.click()
    expect(panel.node.locator(".mpk-Panel-reason")).to_contain_text(
        "does not run the MicroPython kernel", timeout=60_000
    )
    page.locator(".lm-TabBar-tab", has_text="Untitled.ipynb").first.click()
    panel.open()
    panel.ready()
    panel.row("restored.py").dblclick()
    editor = file_editor(page, "restored.py")
    expect(editor).to_contain_text("kept across a reload")
    deadline = time.monotonic() + 60  # JupyterLab saves the layout a moment after a change
    while "Board:restored.py" not in saved_workspace(page):
        assert time.monotonic() < deadline, "the workspace was not saved with the editor"
        page.wait_for_timeout(200)
    # The page address names the board file: on reload JupyterLab's tree route used to ask a
    # file browser for it ("Cannot open: Cannot read properties of undefined (reading 'model')").
    expect(page).to_have_url(re.compile(r"/tree/Board(:|%3A)restored\.py", re.I), timeout=60_000)
    page.reload()
    tab = page.locator(".lm-TabBar-tab", has_text="restored.py").first
    tab.wait_for(state="attached", timeout=60_000)
    tab.click()
    expect(editor).to_contain_text("kept across a reload", timeout=60_000)
    panel.open()
    expect(panel.node.locator(".mpk-Panel-state")).to_contain_text("virtual board")
    dialogs = page.locator(".jp-Dialog")
    try:
        expect(dialogs).to_have_count(0)
    except AssertionError:
        raise AssertionError(f"a dialog after the reload: {dialogs.all_inner_texts()}") from None


def test_notebook7_panel(browser, server: Server, shots: Path) -> None:
    pytest.importorskip("notebook", reason="Notebook 7 not installed (sh install/test-tools.sh)")
    page = browser.new_page()
    try:
        open_notebook7(page, server, "panel7.ipynb", ["print('hi')"])
        # Notebook 7 puts side panels under View > Left Sidebar
        page.locator(".lm-MenuBar-itemLabel", has_text="View").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Left Sidebar").first.hover()
        page.locator(".lm-Menu-itemLabel", has_text="Show MicroPython board").click()
        panel = BoardPanel(page)
        expect(panel.node).to_be_visible(timeout=WAIT)
        panel.connect_virtual()
        panel.drop_files({"nb7.txt": b"from notebook 7\n"})
        expect(panel.row("nb7.txt")).to_be_visible()
        page.screenshot(path=shots / "panel-notebook7.png")
        panel.row("nb7.txt").dblclick()  # Notebook 7: edited in a dialog, in this page
        area = page.locator(".jp-Dialog textarea.mpk-Editor")
        expect(area).to_have_value("from notebook 7\n")
        area.fill("edited in notebook 7\n")
        page.locator(".jp-Dialog .jp-mod-accept").click()
        # The save says how it ended (an error would show here, by its text).
        toasts = page.locator(".jp-toast-message", has_text="nb7.txt")
        expect(toasts.first).to_be_visible(timeout=WAIT)
        expect(toasts.first).to_have_text("Saved nb7.txt")
        expect(panel.row("nb7.txt")).to_contain_text("21 B")
        panel.row("nb7.txt").dblclick()
        expect(area).to_have_value("edited in notebook 7\n")
        page.locator(".jp-Dialog .jp-mod-reject").click()
    finally:
        page.close()
