"""The flash panel through the page (issue 31), in JupyterLab in a real browser.

A student's new ESP8266 has no MicroPython yet: its port holds the simulated ESP8266
bootloader (esp32-mock-bootloader's PTY) behind tests/serial_bridge.py, paced at the baud
rate the page sets, and the page reaches it through the `navigator.serial` shim
(tests/webserial_shim.js). The panel's "Connect a board on this computer" opens the port;
no MicroPython answers, so the page says so and keeps the port for the flash tools. The
`%flash` panel (ipywidgets) then writes an image through the link: the baud change reopens
the port in the page, the chip's MD5 check stays, and a backup read back through the page
holds the image's bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from bridge import serial_bridge
from playwright.sync_api import BrowserContext, expect
from test_browser import VIEWPORT, WAIT, Notebook, Server, server, shots
from test_browser_panel import BoardPanel, kept_for_flash, wait_while_said
from test_browser_webserial import BUTTON, SHIM, chromium, open_new_notebook

from mpkernel.flash import mock
from mpkernel.flash.image import esp8266_image

__all__ = ["chromium", "server", "shots"]  # fixtures, used by name
if not mock.available():
    pytest.skip("esp32-mock-bootloader not installed (sh install/test-tools.sh)",
                allow_module_level=True)  # fmt: skip
pytestmark = pytest.mark.timeout(900)

FLASH_WAIT = 300_000  # ms: a 64 KB image at 460800 baud through a busy machine's page


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """ws://127.0.0.1:N/esp: the simulated bootloader's port, paced at the page's baud."""
    proc, pty = mock.start(tmp_path_factory.mktemp("mockboot"))
    try:
        with serial_bridge([f"esp={pty}"]) as url:
            yield url
    finally:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def context(chromium, bridge: str) -> Iterator[BrowserContext]:  # type: ignore[no-untyped-def]
    ports = [{"url": f"{bridge}/esp", "usbVendorId": 0x1A86, "usbProductId": 0x7523}]
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT)
    context.add_init_script(script=f"({SHIM})({json.dumps(ports)});")
    yield context
    context.close()


def test_flash_panel_writes_a_new_board_through_the_page(
    context: BrowserContext, server: Server
) -> None:
    page = context.new_page()
    open_new_notebook(page, server)
    panel = BoardPanel(page)
    panel.open()
    panel.ready()
    page.evaluate("i => window.__serialShim.choose(i)", 0)
    panel.button(BUTTON).click()
    # no MicroPython on a new board: the page says so and keeps the port for flashing
    wait_while_said(page, kept_for_flash, 120, "the page did not keep the port")

    image = esp8266_image(os.urandom(60 * 1024))
    (server.root / "fw.bin").write_bytes(image)
    nb = Notebook(page)
    cell = nb.run("%flash")
    out = nb.output(cell)
    port = out.locator('.widget-text:has(label:text-is("Port")) input')
    expect(port).to_have_value("browser")  # the page's port is offered first
    out.locator('.widget-text:has(label:text-is("Firmware")) input').fill("fw.bin")
    out.locator("button", has_text="Flash").click()
    status = out.locator("div.widget-label", has_text="Done:")
    expect(status).to_have_text("Done: fw.bin written and verified.", timeout=FLASH_WAIT)
    expect(out).to_contain_text("verified (MD5 on the chip)")
    expect(out).not_to_contain_text("[simulated]")  # a board on the page, not the simulator

    back = nb.run("%backup back.bin --port browser --size 64KB", wait=False)
    nb.wait_done(back, timeout=FLASH_WAIT)
    assert (server.root / "back.bin").read_bytes()[: len(image)] == image
    page.close()
