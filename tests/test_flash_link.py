"""Flashing and backup through the page (the browser link): esptool's Python API talks to the
simulated ESP8266 bootloader (esp32-mock-bootloader's PTY) behind the Python test page
(tests/browser_page.py), which the real Jupyter server extension relays to the kernel.

The reset into the bootloader is DTR/RTS through the link, the baud change to 460800 reopens
the port in the page, and the backup lands in the kernel's folder (the student's folder on
a hub). A connected board's link is lent to esptool and taken back after.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_page import BrowserPage
from conftest import run
from jupyter_client.blocking.client import BlockingKernelClient
from notebook_server import JupyterServer, jupyter_server

from mpkernel.board.links import link_frames as lf
from mpkernel.board.virtual.board import VirtualBoard
from mpkernel.flash import mock
from mpkernel.flash.image import esp8266_image

if not mock.available():
    pytest.skip("esp32-mock-bootloader not installed (sh install/test-tools.sh)",
                allow_module_level=True)  # fmt: skip
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The student's folder: the server's root, where the kernel runs."""
    return tmp_path_factory.mktemp("student")


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[JupyterServer]:
    with jupyter_server(folder) as running:
        yield running


@pytest.fixture(scope="module")
def chip_on_page(
    server: JupyterServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BlockingKernelClient, BrowserPage]]:
    """A kernel, and a page that holds an ESP8266 in its bootloader (the simulator's PTY)."""
    kernel_id = start_kernel(server)
    kc = server.client(kernel_id)
    proc, pty = mock.start(tmp_path_factory.mktemp("mockboot"))
    page = BrowserPage(server.url, kernel_id, pty, server.token).start()
    try:
        yield kc, page
    finally:
        page.stop()
        kc.stop_channels()
        server.shutdown_kernel(kernel_id)
        proc.kill()
        proc.wait(5)


def start_kernel(server: JupyterServer) -> str:
    """A kernel in the server's folder, as JupyterLab starts one for a notebook there."""
    return str(server.api("POST", "api/kernels", {"name": "micropython", "path": ""})["id"])


def signals(page: BrowserPage) -> list[tuple[bool, bool]]:
    """(DTR, RTS) of every signal frame the kernel sent the page, in order."""
    out = []
    for frame in page.from_kernel:
        if frame[:1] == lf.SIGNALS:
            flags = frame[1]
            out.append((bool(flags & 1), bool(flags & 2)))
    return out


def bauds(page: BrowserPage) -> list[int]:
    return [struct.unpack("<I", f[1:5])[0] for f in page.from_kernel if f[:1] == lf.BAUD]


def test_chipinfo_backup_erase_flash_restore_through_the_page(
    folder: Path, chip_on_page: tuple[BlockingKernelClient, BrowserPage]
) -> None:
    kc, page = chip_on_page
    info = run(kc, "%chipinfo browser", timeout=120)
    assert info.status == "ok", info.shown
    assert "ESP8266" in info.shown and "Flash id:" in info.shown, info.shown
    assert "[simulated]" not in info.shown  # the kernel cannot tell: it is a board to it
    # the reset into the bootloader went through the link: EN low, then GPIO0 low, released
    assert signals(page)[:3] == [(False, True), (True, False), (False, False)], signals(page)
    assert 460800 in bauds(page), bauds(page)  # the page reopened the port faster
    # no board connected, no port named: the page's port is the one (a new board has no
    # MicroPython to connect to, yet the page holds its port)
    again = run(kc, "%chipinfo", timeout=120)
    assert again.status == "ok" and "ESP8266" in again.shown, (again.shown, again.error)

    backup = run(kc, "%backup orig.bin --port browser --size 256KB", timeout=300)
    assert backup.status == "ok", (backup.shown, backup.error)
    assert (folder / "orig.bin").exists(), backup.shown
    assert (folder / "orig.bin").stat().st_size == 256 * 1024
    record = json.loads((folder / "orig.bin.json").read_text())
    assert record["chip"] == "ESP8266"

    erased = run(kc, "%erase --yes --port browser", timeout=300)
    assert "Flash erased" in erased.shown, erased.shown

    (folder / "bad.bin").write_bytes(b"not an image at all" * 10)
    refused = run(kc, "%flash bad.bin --port browser", timeout=120)
    said = refused.shown + str((refused.error or {}).get("evalue", ""))
    assert refused.status == "error" and "Not an ESP firmware image" in said, said
    assert "verified" not in said

    (folder / "fw.bin").write_bytes(esp8266_image(bytes(range(256)) * 256))
    flashed = run(kc, "%flash fw.bin --port browser", timeout=300)
    assert flashed.status == "ok", flashed.shown
    assert "verified (MD5 on the chip)" in flashed.shown, flashed.shown
    # a board on a USB adapter is reset into its new firmware by RTS through the link
    last = signals(page)[-4:]
    assert (False, True) in last and last[-1] == (False, False), last

    restored = run(kc, "%restore orig.bin --port browser", timeout=300)
    assert restored.status == "ok", restored.shown
    assert "verified" in restored.shown, restored.shown


def test_a_connected_boards_link_is_lent_to_esptool_and_taken_back(
    server: JupyterServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """%chipinfo on a board connected through the page: the kernel lets go of the link,
    esptool resets the board through it (MicroPython here, no bootloader: one line says so),
    and the kernel connects to MicroPython through the page again."""
    kernel_id = start_kernel(server)
    kc = server.client(kernel_id)
    with VirtualBoard(root=tmp_path_factory.mktemp("board")) as vb:
        page = BrowserPage(server.url, kernel_id, vb.port, server.token, on_reset=vb.press_reset)
        try:
            page.start()
            first = run(kc, "%connect browser", timeout=60)
            assert first.status == "ok", first.shown
            run(kc, "kept = 5")
            info = run(kc, "%chipinfo", timeout=300)
            said = info.shown + str((info.error or {}).get("evalue", ""))
            assert "does not answer its bootloader on the board on your computer" in said, said
            assert "VID/PID" not in said and "Pre-connection" not in said, said
            assert "Reconnected to MicroPython on the board on your computer" in info.shown
            assert page.resets >= 1  # the bootloader reset reached the board's EN line
            again = run(kc, "print('back', 40 + 2)", timeout=60)
            assert "back 42" in again.stdout, again.shown
        finally:
            page.stop()
            kc.stop_channels()
            server.shutdown_kernel(kernel_id)


def test_the_benchs_local_wire_banks_no_idle_time() -> None:
    """bench/bench_flash_link.py's baseline (the kernel's own port behind bench/throttle.py)
    is a UART: bytes written after the wire sat idle still take their time on it. It used to
    send them at once, as if sent while nothing was there: esptool's pause between two
    blocks came for free on the local side only."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from throttle import Pacer

    wire = Pacer(1000.0)  # bytes/s
    start = wire.free_at
    wire.add(b"x" * 100, start + 5.0)  # written after 5 s of silence
    assert wire.due(start + 5.0) == b""
    assert len(wire.due(start + 5.0505)) == 50
    assert len(wire.due(start + 5.2)) == 50
