"""Chip magics through the kernel, against esptool's real protocol on esp32-mock-bootloader."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from conftest import Run, run, start_kernel
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from mpkernel.flash.identity import FlashChip, parse_size
from mpkernel.flash.image import esp8266_image
from mpkernel.flash.mock import start as start_mock_bootloader

pytestmark = pytest.mark.timing

pytest.importorskip("esp32_mock_bootloader", reason="esp32-mock-bootloader (test tools) missing")

FLASH = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def mock_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, port = start_mock_bootloader(tmp_path_factory.mktemp("mock"))
    yield port
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def fk() -> Iterator[BlockingKernelClient]:
    km, kc = start_kernel()
    assert run(kc, "%connect virtual").status == "ok"
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture
def here(tmp_path: Path, fk: BlockingKernelClient) -> Path:
    """A fresh folder, also the kernel's working folder (where %erase looks for backups)."""
    ok(run(fk, f"%%host\nimport os\nos.chdir({str(tmp_path)!r})"))
    return tmp_path


def ok(r) -> str:
    assert r.status == "ok", r.text + str(r.error)
    return r.shown


def fails(r, *words: str) -> str:
    assert r.status == "error", r.text
    message = r.error["evalue"]
    assert "\n" not in message and "Traceback" not in r.text
    for word in words:
        assert word in message, message
    return message


def read_back(kc: BlockingKernelClient, port: str, path: Path, size: str) -> bytes:
    ok(run(kc, f"%backup {path} --port {port} --size {size} --force"))
    return path.read_bytes()


# -- decoding, without a chip -------------------------------------------------------------


def test_flash_id_decoding() -> None:
    berg = FlashChip(0x1440E0)
    assert (berg.manufacturer, berg.device, berg.size) == (0xE0, 0x4014, 1 << 20)
    assert berg.describe() == "Berg Micro BG25Q80A, 1MB (manufacturer 0xE0, device 0x4014)"
    assert FlashChip(0x1640EF).vendor == "Winbond" and FlashChip(0x1640EF).size == FLASH
    assert FlashChip(0x1740C8).describe().startswith("GigaDevice GD25Q64, 8MB")
    assert parse_size("4MB") == FLASH and parse_size("0x1000") == 4096


# -- through the kernel -----------------------------------------------------------------------


def test_chipinfo(fk: BlockingKernelClient, mock_port: str) -> None:
    out = ok(run(fk, f"%chipinfo {mock_port}"))
    assert "ESP8266EX" in out
    assert "XMC XM25QH32, 4MB (manufacturer 0x20, device 0x4016)" in out
    assert "Detected size: 4MB (4,194,304 bytes)" in out
    assert "MAC:" in out and "[simulated]" not in out
    # esptool's own messages reach the notebook, the ESP-01 owner's instruction first.
    assert "cannot reset the chip by itself" in out and "press reset now.\n" in out
    assert "Connecting..." in out and "Uploading stub flasher" in out, out


def test_virtual_board_uses_the_simulated_bootloader(fk: BlockingKernelClient) -> None:
    out = ok(run(fk, "%chipinfo"))
    assert "[simulated]" in out and "ESP8266EX" in out
    assert ok(run(fk, "print(40 + 2)")).strip() == "42"  # the virtual board is still there


def test_backup_erase_flash_restore_round_trip(
    fk: BlockingKernelClient, mock_port: str, here: Path
) -> None:
    # A known image first, so that the backup has content of its own.
    original = esp8266_image(os.urandom(100_000))
    (here / "orig.bin").write_bytes(original)
    ok(run(fk, f"%flash {here / 'orig.bin'} --port {mock_port} --flash-size keep"))

    backup = here / "backup.bin"
    out = ok(run(fk, f"%backup {backup} --port {mock_port}", timeout=120))
    data = backup.read_bytes()
    assert len(data) == FLASH and data[: len(original)] == original
    assert "verified against the chip's MD5" in out and "backup backup.bin: 4.0 MB in" in out
    record = json.loads((here / "backup.bin.json").read_text())
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["md5"] == hashlib.md5(data).hexdigest()
    assert (record["chip"], record["flash_size"], record["size"]) == ("ESP8266", FLASH, FLASH)
    assert record["flash_id"] == "0x164020" and record["mac"].count(":") == 5
    assert record["tools"]["esptool"] and record["date"]

    fails(run(fk, f"%backup {backup} --port {mock_port}"), "exists", "--force")

    out = ok(run(fk, f"%erase --yes --port {mock_port}"))
    assert "Flash erased" in out and "No backup of this chip" not in out  # one exists here
    assert read_back(fk, mock_port, here / "erased.bin", "64KB") == b"\xff" * 65536

    firmware = esp8266_image(b"MicroPython? " * 2000, flash_mode=0)
    (here / "fw.bin").write_bytes(firmware)
    out = ok(run(fk, f"%flash {here / 'fw.bin'} --port {mock_port} --flash-mode dio"))
    assert "verified (MD5 on the chip)" in out and "release GPIO0 and press reset" in out
    written = read_back(fk, mock_port, here / "after.bin", "64KB")[: len(firmware)]
    assert written[2] == 2  # dio, set in the image header by esptool
    assert written[3:] == firmware[3:] and written[:2] == firmware[:2]

    out = ok(run(fk, f"%restore {backup} --port {mock_port}", timeout=120))
    assert "Restored backup.bin" in out
    assert read_back(fk, mock_port, here / "again.bin", "4MB") == data


def test_erase_without_yes_suggests_a_backup_and_asks(
    fk: BlockingKernelClient, mock_port: str, here: Path
) -> None:
    r = run(fk, f"%erase --port {mock_port}")
    out = ok(r)
    assert "run %backup FILE first" in out
    assert any(
        "application/vnd.jupyter.widget-view+json" in d["data"] for d in r.of("display_data")
    )
    assert "%erase --yes" in out  # what a frontend without widgets shows


def test_widgets_flash_panel_and_erase_confirmation(
    fk: BlockingKernelClient, mock_port: str, here: Path
) -> None:
    (here / "panel.bin").write_bytes(esp8266_image(b"panel" * 500))
    code = f"""%%host
from mpkernel.widgets.flash import FlashPanel, ConfirmErase
from mpkernel.services.flashing import ChipLink as Link
k = get_ipython().kernel
p = FlashPanel(k)
p.flash_clicked(None)
print("EMPTY:", p.status.value)
p.port.value = {mock_port!r}
p.file.value = {str(here / "panel.bin")!r}
p.baud.value = 115200
p.flash_clicked(None)
print("FLASH:", p.status.value)
c = ConfirmErase(k, Link({mock_port!r}), "ESP8266EX")
c.cancel_clicked(None)
print("CANCEL:", c.status.value)
c = ConfirmErase(k, Link({mock_port!r}), "ESP8266EX")
c.erase_clicked(None)
print("ERASE:", c.status.value, c.yes.disabled)
"""
    out = ok(run(fk, code))
    assert "EMPTY: Choose a firmware file first." in out
    assert "FLASH: Done: panel.bin written and verified." in out
    assert "CANCEL: Cancelled: the flash was not touched." in out
    assert "ERASE: Erased. True" in out
    assert read_back(fk, mock_port, here / "e.bin", "8KB") == b"\xff" * 8192


# -- bad input ----------------------------------------------------------------------------------


def test_wrong_port(fk: BlockingKernelClient) -> None:
    fails(run(fk, "%chipinfo /dev/ttyUSB-nope"), "No serial port /dev/ttyUSB-nope", "%ports")


def test_busy_port(fk: BlockingKernelClient, mock_port: str) -> None:
    with serial.Serial(mock_port, exclusive=True):
        fails(run(fk, f"%chipinfo {mock_port}"), f"Port {mock_port} is busy", "another program")


def test_chip_not_in_bootloader(fk: BlockingKernelClient) -> None:
    master, slave = os.openpty()
    try:
        fails(run(fk, f"%chipinfo {os.ttyname(slave)}"), "GPIO0", "not touched")
    finally:
        os.close(master)
        os.close(slave)


def test_images_refused_before_writing(
    fk: BlockingKernelClient, mock_port: str, here: Path
) -> None:
    (here / "notes.txt").write_text("not firmware")
    fails(run(fk, f"%flash {here / 'notes.txt'} --port {mock_port}"), "Not an ESP firmware")
    c3 = bytes([0xE9, 3, 2, 0x20, 0, 0, 0, 0, 0xEE, 0, 0, 0, 5, 0]) + bytes(4000)
    (here / "c3.bin").write_bytes(c3)
    fails(
        run(fk, f"%flash {here / 'c3.bin'} --port {mock_port}"),
        "ESP32-C3, but the board is an ESP8266",
        "not touched",
    )
    (here / "big.bin").write_bytes(esp8266_image(b"x") + bytes(FLASH))
    fails(run(fk, f"%flash {here / 'big.bin'} --port {mock_port}"), "does not fit", "4MB")
    fails(run(fk, f"%flash {here / 'missing.bin'} --port {mock_port}"), "Cannot read")


def test_bad_backups_are_refused(fk: BlockingKernelClient, mock_port: str, here: Path) -> None:
    backup = here / "small.bin"
    ok(run(fk, f"%backup {backup} --port {mock_port} --size 64KB"))
    data = backup.read_bytes()
    backup.write_bytes(data[:-100])
    fails(run(fk, f"%restore {backup} --port {mock_port}"), "truncated", "Nothing was written")
    backup.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    fails(run(fk, f"%restore {backup} --port {mock_port}"), "corrupt", "Nothing was written")
    backup.write_bytes(data)
    side = here / "small.bin.json"
    record = json.loads(side.read_text())
    side.write_text(json.dumps({**record, "flash_size": 1 << 20}))
    fails(run(fk, f"%restore {backup} --port {mock_port}"), "1MB", "--force")
    assert "Restored" in ok(run(fk, f"%restore {backup} --port {mock_port} --force"))
    side.unlink()
    fails(run(fk, f"%restore {backup} --port {mock_port}"), "small.bin.json is missing")


def test_disconnect_during_backup(fk: BlockingKernelClient, here: Path) -> None:
    proc, port = start_mock_bootloader(here)
    messages: list[dict] = []

    def pull_the_cable(msg: dict) -> None:
        """The link dies once the read is under way (its first progress update)."""
        messages.append(msg)
        if msg["msg_type"] == "update_display_data":
            proc.kill()

    try:
        reply = fk.execute_interactive(
            f"%backup {here / 'cut.bin'} --port {port}", output_hook=pull_the_cable, timeout=60
        )
    finally:
        proc.kill()
        proc.wait()
    message = fails(Run(reply["content"], messages))
    assert "stopped answering while reading the flash" in message
    assert "the flash is unchanged" in message
    assert not (here / "cut.bin").exists()
    assert ok(run(fk, "print('alive')")).strip() == "alive"


def test_port_released_and_micropython_reconnected(tmp_path: Path) -> None:
    """esptool gets the kernel's own port; afterwards the kernel talks to MicroPython again."""
    from mpkernel.board.virtual.board import VirtualBoard

    with VirtualBoard(root=tmp_path) as vb:
        km, kc = start_kernel()
        try:
            ok(run(kc, f"%connect {vb.port}"))
            ok(run(kc, "x = 7"))
            r = run(kc, "%chipinfo")  # MicroPython, not a bootloader, answers on this port
            fails(r, "does not answer its bootloader")
            assert f"Reconnected to MicroPython on {vb.port}" in r.text
            assert run(kc, "x * 6").result == "42"  # connecting again did not reset it
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def test_simulated_chip_is_said_once_and_esptool_talks_to_the_log(tmp_path: Path) -> None:
    """On the virtual board, esptool's messages meant for a real chip (hold GPIO0 low and
    press reset, the simulator's crystal warnings) stay out of the notebook and go to the
    kernel's log; the notebook hears once what the simulation is, then a short tag."""
    log = tmp_path / "kernel.log"
    km = KernelManager(kernel_name="micropython")
    with log.open("w") as stderr:
        km.start_kernel(extra_arguments=["--log-level=INFO"], stderr=stderr, cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        assert run(kc, "%connect virtual").status == "ok"
        outputs = [ok(run(kc, line, timeout=120)) for line in ("%chipinfo", "%erase --yes")]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    first, second = outputs
    assert "[simulated] The virtual board has no chip to flash" in first and "ESP8266EX" in first
    assert second.startswith("[simulated] ESP8266 bootloader") and "no chip to flash" not in second
    for out in outputs:
        for word in ("GPIO0", "press reset", "Warning", "Connecting", "stub"):
            assert word not in out, (word, out)
    logged = log.read_text()
    assert "esptool (simulated chip): " in logged and "hold GPIO0 low and press reset" in logged
