"""Image checks before %flash writes: esptool's parser, the chip, and where each kind belongs.

The images are built here (tests/esp_images.py), each kind valid and with each defect;
the fast tests call mpkernel.flash.image directly, the others drive %flash through the
kernel on simulated ESP8266 and ESP32 bootloaders and check the flash is unchanged
after every refusal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import esp_images as img
import pytest
from conftest import run, start_kernel
from jupyter_client.blocking.client import BlockingKernelClient

from mpkernel.errors import UsageError
from mpkernel.flash.image import Found, ImageError, Region, check_region, check_regions
from mpkernel.flash.mock import start as start_mock_bootloader
from mpkernel.services.flashing import ChipLink, FlashOptions, parse_address, read_regions

FLASH = 4 * 1024 * 1024


def accepted(data: bytes, addr: int, chip: str, *words: str) -> Found:
    found = check_region(Region(addr, data, "f.bin"), chip, FLASH)
    for word in words:
        assert word in found.summary + " ".join(found.notes), (word, found)
    return found


def refused(data: bytes, addr: int, chip: str, *words: str) -> str:
    with pytest.raises(ImageError) as caught:
        check_region(Region(addr, data, "f.bin"), chip, FLASH)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)
    return message


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


# -- ESP8266 ------------------------------------------------------------------------------------


def test_esp8266_images_accepted_where_they_belong() -> None:
    found = accepted(img.esp8266_v1(), 0, "ESP8266", "ESP8266 boot image", "checksum valid")
    assert found.kind == "esp8266" and found.notes == []
    whole = img.esp8266_whole_flash(b"\xc3" * 5001)  # length not a multiple of 4: fine
    assert len(whole) % 4
    accepted(whole, 0, "ESP8266", "whole-flash ESP8266 image", "2 segments", "flash mode dio")
    found = accepted(img.esp8266_v2(), 0x1000, "ESP8266", "SDK OTA app (0xEA)", "8KB of flash")
    assert found.kind == "sdk-app" and "SDK's boot loader" in found.notes[0]
    accepted(img.esp8266_v2(), 0x101000, "ESP8266")  # user2.bin of a 1 MB + 1 MB map
    accepted(img.esp8266_v2(), 0x200000, "ESP8266", "usually goes at 0x1000")
    accepted(img.esp8266_v1(), 0x2000, "ESP8266", "a second-stage boot loader")
    found = accepted(b"\x05\x00" * 64 + b"\x01", 0x3FC000, "ESP8266", "129 bytes of data")
    assert found.kind == "data"


def test_esp8266_defects_refused() -> None:
    v1 = img.esp8266_v1()
    refused(flipped(v1, len(v1) - 1), 0, "ESP8266", "checksum byte is 0xEE", "segments give 0xEF")
    refused(flipped(v1, 100), 0, "ESP8266", "checksum", "corrupt")
    refused(v1[:100], 0, "ESP8266", "ends inside the segment loading at 0x40100000", "truncated")
    refused(v1[:-1], 0, "ESP8266", "Not a valid ESP8266 image", "truncated")
    refused(v1[:5], 0, "ESP8266", "fewer than an image header")
    v2 = img.esp8266_v2()
    refused(flipped(v2, len(v2) - 1), 0x1000, "ESP8266", "CRC-32", "corrupt")
    refused(flipped(v2, len(v2) - 20), 0x1000, "ESP8266", "checksum byte", "corrupt")
    refused(v2[:0x1800], 0x1000, "ESP8266", "ends inside the segment", "truncated")
    v2_no_second_header = v2[: 16 + 0x2000] + b"\x00" * 64
    refused(v2_no_second_header, 0x1000, "ESP8266", "Not a valid ESP8266 image", "0x0")
    refused(b"", 0x1000, "ESP8266", "empty")
    message = refused(b"print('hi')\n", 0, "ESP8266", "Not an ESP firmware image", "0x70")
    assert "micropython.org/download" in message


def test_esp8266_images_at_the_wrong_address() -> None:
    refused(img.esp8266_v2(), 0, "ESP8266", "SDK OTA app", "cannot start it at 0x0", "0x1000")
    refused(img.partition_table(), 0, "ESP8266", "partition table", "0x8000")


@pytest.mark.parametrize("digest", [True, False])
@pytest.mark.parametrize("wp_pin", [0xEE, 0x06])
@pytest.mark.parametrize("addr", [0x0, 0x1000])
def test_esp32_bootloader_refused_on_an_esp8266(digest: bool, wp_pin: int, addr: int) -> None:
    """Its segments load at 0x3FFF0030.. and 0x40078000, addresses an ESP8266 has too.

    With the WP pin set (0x06) the header guess alone misses it; esptool's ESP32 parser
    with the chip id still names it.
    """
    boot = img.esp32_image(img.ESP32_BOOTLOADER, append_digest=digest, wp_pin=wp_pin)
    refused(boot, addr, "ESP8266", "This image is for an ESP32 (a bootloader)", "an ESP8266")


def test_esp32_images_refused_on_an_esp8266() -> None:
    app = img.esp32_image(img.ESP32_APP)
    refused(app, 0, "ESP8266", "for an ESP32 (an app), but the board is an ESP8266")
    c3 = img.esp32_image(img.C3_APP, "esp32c3")
    refused(c3, 0, "ESP8266", "for an ESP32-C3")
    whole = img.combined(img.esp32_image(img.ESP32_BOOTLOADER), img.partition_table(), app)
    refused(whole, 0, "ESP8266", "for an ESP32 (a bootloader)")
    # A broken ESP32 image: esptool cannot read it as one; the header still says what it is.
    refused(img.esp32_image(img.ESP32_APP)[:300], 0, "ESP8266", "for an ESP32, but")


# -- ESP32 family ----------------------------------------------------------------------------------


def test_esp32_kinds_accepted_where_they_belong() -> None:
    boot = img.esp32_image(img.ESP32_BOOTLOADER)
    assert accepted(boot, 0x1000, "ESP32", "ESP32 bootloader", "SHA-256 valid").kind == "bootloader"
    app = img.esp32_image(img.ESP32_APP)
    assert accepted(app, 0x10000, "ESP32", "ESP32 app", "4 segments", "SHA-256 valid").notes == []
    bare = img.esp32_image(img.ESP32_APP, append_digest=False)
    assert "SHA-256" not in accepted(bare, 0x10000, "ESP32", "checksum valid").summary
    accepted(app, 0x110000, "ESP32", "app partition at 0x110000")  # an OTA slot
    found = accepted(img.partition_table(), 0x8000, "ESP32", "nvs, phy_init, factory")
    assert found.kind == "partitions" and found.notes == []
    accepted(img.partition_table(md5=False), 0x8000, "ESP32")
    accepted(img.partition_table(), 0x9000, "ESP32", "looks for the partition table at 0x8000")
    s3 = img.esp32_image(img.S3_BOOTLOADER, "esp32s3")
    accepted(s3, 0x0, "ESP32-S3", "ESP32-S3 bootloader")  # its ROM starts it at 0x0


def test_combined_esp32_images() -> None:
    boot, table = img.esp32_image(img.ESP32_BOOTLOADER), img.partition_table()
    app = img.esp32_image(img.ESP32_APP)
    whole = img.combined(boot, table, app)  # MicroPython's ESP32 .bin, written at 0x1000
    found = accepted(whole, 0x1000, "ESP32", "combined image", "app 'factory' at 0x10000")
    assert found.kind == "combined"
    accepted(b"\xff" * 0x1000 + whole, 0, "ESP32", "blank up to 0x1000, then combined image")
    refused(whole, 0, "ESP32", "belongs at 0x1000", "--address 0x1000")
    broken = whole[: 0xF000 + 0x300]
    refused(broken, 0x1000, "ESP32", "app 'factory' at 0x10000", "truncated")
    corrupt = flipped(whole, 0x7000 + 40)
    refused(corrupt, 0x1000, "ESP32", "partition table at 0x8000", "MD5")
    s3 = img.combined(img.esp32_image(img.S3_BOOTLOADER, "esp32s3"), table, app, at=0)
    refused(s3, 0, "ESP32-S3", "app 'factory'", "for an ESP32 (an app)")


def test_esp32_images_at_the_wrong_address() -> None:
    boot = img.esp32_image(img.ESP32_BOOTLOADER)
    refused(boot, 0x0, "ESP32", "belongs at 0x1000")
    refused(boot, 0x2000, "ESP32", "bootloader: it belongs at 0x1000", "not at 0x2000")
    app = img.esp32_image(img.ESP32_APP)
    refused(app, 0x1000, "ESP32", "ESP32 app: it belongs in an app partition", "0x10000")
    refused(app, 0x18000, "ESP32", "64 KB boundary", "0x18000")
    refused(img.partition_table(), 0x1000, "ESP32", "partition table: it belongs at 0x8000")
    refused(b"\x00" * 0x2000, 0x0, "ESP32", "would overwrite the ESP32's bootloader at 0x1000")


def test_esp32_defects_refused() -> None:
    app = img.esp32_image(img.ESP32_APP)
    refused(flipped(app, len(app) - 1), 0x10000, "ESP32", "SHA-256 digest does not match")
    refused(app[:-10], 0x10000, "ESP32", "SHA-256 digest", "truncated")
    refused(app[:-40], 0x10000, "ESP32", "truncated")
    refused(flipped(app, 0x200), 0x10000, "ESP32", "checksum byte", "corrupt")
    bare = img.esp32_image(img.ESP32_APP, append_digest=False)
    refused(flipped(bare, 0x200), 0x10000, "ESP32", "checksum byte", "corrupt")
    bad_flag = app[:23] + b"\x07" + app[24:]
    refused(bad_flag, 0x10000, "ESP32", "extended header is invalid", "0x07")
    too_many = app[:1] + b"\x11" + app[2:]
    refused(too_many, 0x10000, "ESP32", "Not a valid ESP32 image")
    refused(img.esp8266_v1(), 0, "ESP32", "for an ESP8266")
    refused(img.esp8266_v2(), 0x10000, "ESP32", "for an ESP8266 (an SDK OTA app)")
    c3 = img.esp32_image(img.C3_APP, "esp32c3")
    refused(c3, 0x10000, "ESP32-S3", "for an ESP32-C3 (an app), but the board is an ESP32-S3")
    unknown = img.esp32_image(img.C3_APP, "esp32c3")
    unknown = unknown[:12] + b"\x63\x00" + unknown[14:-32]
    unknown += hashlib.sha256(unknown).digest()
    refused(unknown, 0x10000, "ESP32-C3", "for a chip with image id 99 (an app)")


def test_partition_table_defects_refused() -> None:
    table = img.partition_table()
    refused(flipped(table, 5), 0x8000, "ESP32", "MD5 row does not match")
    refused(table[:40], 0x8000, "ESP32", "ends inside entry 2", "truncated")
    refused(flipped(table, 32), 0x8000, "ESP32", "entry 2 starts with 0xAB50")
    big = img.partition_table([("factory", 0, 0, 0x10000, 0x800000)])
    refused(big, 0x8000, "ESP32", "'factory' ends at 0x810000", "more flash")
    unaligned = img.partition_table([("factory", 0, 0, 0x18000, 0x10000)])
    refused(unaligned, 0x8000, "ESP32", "'factory' starts at 0x18000", "0x10000 boundary")
    overlap = img.partition_table([("a", 1, 2, 0x9000, 0x6000), ("b", 1, 1, 0xE000, 0x1000)])
    refused(overlap, 0x8000, "ESP32", "'a' and 'b' overlap")


def test_several_regions() -> None:
    regions = [
        Region(0x1000, img.esp32_image(img.ESP32_BOOTLOADER), "bootloader.bin"),
        Region(0x8000, img.partition_table(), "partitions.bin"),
        Region(0x10000, img.esp32_image(img.ESP32_APP), "app.bin"),
    ]
    kinds = [f.kind for f in check_regions(regions, "ESP32", FLASH)]
    assert kinds == ["bootloader", "partitions", "app"]
    clash = [*regions, Region(0x10800, b"data", "data.bin")]
    with pytest.raises(ImageError, match=r"app\.bin .* and data\.bin .* share a 4 KB flash sector"):
        check_regions(clash, "ESP32", FLASH)
    bad = [regions[0], Region(0x10000, img.esp32_image(img.ESP32_APP)[:-1], "app.bin")]
    with pytest.raises(ImageError, match=r"^app\.bin: Not a valid ESP32 image"):
        check_regions(bad, "ESP32", FLASH)
    found = check_regions([Region(0x3FB800, b"\xff" * 16, "x.bin")], "ESP8266", FLASH)
    assert "2,048 bytes before it in its sector will be erased" in found[0].notes[0]
    with pytest.raises(ImageError, match="does not fit this chip's 4MB flash"):
        check_regions([Region(FLASH - 8, b"\xff" * 16, "x.bin")], "ESP8266", FLASH)


def test_flash_options_and_files_before_any_chip(tmp_path: Path) -> None:
    """The service's own checks, before a chip is opened: options, addresses, files."""
    one, link = tmp_path / "fw.bin", ChipLink("mock")
    assert FlashOptions(one, link, addr=0x1000).files() == [(0x1000, one)]
    pairs = [(0x0, one), (0x1000, tmp_path / "user1.bin")]
    assert FlashOptions(None, link, images=pairs).files() == pairs
    with pytest.raises(UsageError, match="not both"):
        FlashOptions(one, link, images=pairs).files()
    with pytest.raises(UsageError, match="Nothing to flash"):
        FlashOptions(None, link).files()
    assert parse_address("0x8000") == 0x8000 and parse_address("4096") == 4096
    with pytest.raises(UsageError, match=r"^-1 is not a flash address: it is negative"):
        parse_address("-1")
    with pytest.raises(UsageError, match=r"^Cannot read .*fw\.bin"):
        read_regions([(0, one)])
    one.write_bytes(b"print('hi')\n")
    with pytest.raises(UsageError, match=r"^fw\.bin: .*an image is expected at 0x0"):
        read_regions([(0, one)])
    one.write_bytes(b"")
    with pytest.raises(UsageError, match=r"^fw\.bin: The file is empty"):
        read_regions([(0x1000, one)])


# -- through the kernel, on simulated chips -----------------------------------------------------


def _mock(folder: Path, chip: str) -> Iterator[str]:
    pytest.importorskip("esp32_mock_bootloader", reason="esp32-mock-bootloader (test tools)")
    proc, port = start_mock_bootloader(folder, chip)
    yield port
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def esp8266(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _mock(tmp_path_factory.mktemp("mock8266"), "esp8266")


@pytest.fixture(scope="module")
def esp32(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _mock(tmp_path_factory.mktemp("mock32"), "esp32")


@pytest.fixture(scope="module")
def kc() -> Iterator[BlockingKernelClient]:
    km, client = start_kernel()
    yield client
    client.stop_channels()
    km.shutdown_kernel(now=True)


def flash_md5(port: str, addr: int = 0, size: int = FLASH) -> str:
    """The chip's own MD5 of a flash range, asked with esptool directly (not through mpkernel)."""
    import esptool

    with esptool.detect_chip(port, 115200, "no-reset") as rom:
        return str(esptool.run_stub(rom).flash_md5sum(addr, size))


def refuses(kc: BlockingKernelClient, port: str, line: str, *words: str) -> str:
    """%flash refuses with one line and the whole flash is byte-for-byte as before."""
    before = flash_md5(port)
    r = run(kc, f"{line} --port {port}")
    assert r.status == "error", r.text
    message = r.error["evalue"]
    assert "\n" not in message and "Traceback" not in r.text
    for word in words:
        assert word in message, (word, message)
    assert "verified" not in r.shown
    assert flash_md5(port) == before
    return message


def writes(kc: BlockingKernelClient, port: str, line: str, *words: str) -> str:
    r = run(kc, f"{line} --port {port}")
    assert r.status == "ok", r.text + str(r.error)
    for word in words:
        assert word in r.shown, (word, r.shown)
    return r.shown


def test_refusals_on_the_simulated_esp8266(
    kc: BlockingKernelClient, esp8266: str, tmp_path: Path
) -> None:
    files = {
        "bootloader.bin": img.esp32_image(img.ESP32_BOOTLOADER, wp_pin=0x06),
        "bootloader_nodigest.bin": img.esp32_image(img.ESP32_BOOTLOADER, append_digest=False),
        "user1.bin": img.esp8266_v2(),
        "cut.bin": img.esp8266_v2()[:-200],
        "bad.bin": flipped(img.esp8266_v1(), 40),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    for addr in ("0x0", "0x1000"):
        refuses(
            kc,
            esp8266,
            f"%flash {tmp_path / 'bootloader.bin'} --address {addr}",
            "bootloader.bin: This image is for an ESP32 (a bootloader)",
            "board is an ESP8266",
            "not touched",
        )
    refuses(kc, esp8266, f"%flash {tmp_path / 'bootloader_nodigest.bin'}", "for an ESP32")
    refuses(kc, esp8266, f"%flash {tmp_path / 'user1.bin'}", "--address 0x1000", "not touched")
    refuses(
        kc,
        esp8266,
        f"%flash {tmp_path / 'user1.bin'} --address 0x1000 --erase",
        "also erases what boots the ESP8266 at 0x0",
        "not touched",
    )
    refuses(kc, esp8266, f"%flash 0x1000 {tmp_path / 'cut.bin'}", "cut.bin: Not a valid ESP8266")
    refuses(kc, esp8266, f"%flash {tmp_path / 'bad.bin'}", "bad.bin: Not a valid", "checksum")
    # one bad file among several: nothing at all is written
    good = f"0x0 {tmp_path / 'bad.bin'} 0x1000 {tmp_path / 'user1.bin'}"
    refuses(kc, esp8266, f"%flash {good}", "bad.bin", "not touched")


def test_sdk_ota_app_written_at_0x1000(
    kc: BlockingKernelClient, esp8266: str, tmp_path: Path
) -> None:
    app = img.esp8266_v2(b"\xd5" * 0x3001)  # 12 KB + 1 byte of code
    (tmp_path / "user1.bin").write_bytes(app)
    out = writes(
        kc,
        esp8266,
        f"%flash {tmp_path / 'user1.bin'} --addr 0x1000",  # the old spelling still works
        "user1.bin at 0x1000: ESP8266 SDK OTA app (0xEA)",
        "Note: It runs only with the SDK's boot loader",
        "verified (MD5 on the chip)",
    )
    assert "flash user1.bin at 0x1000" in out
    assert flash_md5(esp8266, 0x1000, len(app)) == hashlib.md5(app).hexdigest()


def test_odd_length_whole_flash_image(
    kc: BlockingKernelClient, esp8266: str, tmp_path: Path
) -> None:
    whole = img.esp8266_whole_flash(b"\xc7" * 4099)
    assert len(whole) % 4 == 3
    (tmp_path / "fw.bin").write_bytes(whole)
    writes(kc, esp8266, f"%flash {tmp_path / 'fw.bin'} --flash-size keep", "whole-flash ESP8266")
    assert flash_md5(esp8266, 0, len(whole)) == hashlib.md5(whole).hexdigest()


def test_pairs_on_the_simulated_esp32(kc: BlockingKernelClient, esp32: str, tmp_path: Path) -> None:
    parts = {
        0x1000: ("bootloader.bin", img.esp32_image(img.ESP32_BOOTLOADER)),
        0x8000: ("partitions.bin", img.partition_table()),
        0x10000: ("app.bin", img.esp32_image(img.ESP32_APP)),
    }
    line = "%flash"
    for addr, (name, data) in parts.items():
        (tmp_path / name).write_bytes(data)
        line += f" 0x{addr:X} {tmp_path / name}"
    (tmp_path / "c3.bin").write_bytes(img.esp32_image(img.C3_APP, "esp32c3"))
    bad = line.replace(str(tmp_path / "app.bin"), str(tmp_path / "c3.bin"))
    refuses(kc, esp32, bad, "c3.bin: This image is for an ESP32-C3 (an app)", "an ESP32.")
    refuses(kc, esp32, f"%flash {tmp_path / 'app.bin'}", "belongs in an app partition")
    out = writes(
        kc,
        esp32,
        line + " --flash-size keep",
        "bootloader.bin at 0x1000: ESP32 bootloader, 4 segments, checksum valid, SHA-256 valid",
        "partitions.bin at 0x8000: partition table (nvs, phy_init, factory)",
        "app.bin at 0x10000: ESP32 app",
    )
    assert out.count("verified (MD5 on the chip)") == 3
    for addr, (_, data) in parts.items():
        assert flash_md5(esp32, addr, len(data)) == hashlib.md5(data).hexdigest()
    whole = img.combined(*(data for _, data in parts.values()))
    (tmp_path / "micropython-esp32.bin").write_bytes(whole)
    refuses(kc, esp32, f"%flash {tmp_path / 'micropython-esp32.bin'}", "--address 0x1000")


def test_bad_address_arguments(kc: BlockingKernelClient, tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(img.esp8266_v1())
    for line, words in [
        (f"%flash {tmp_path / 'a.bin'} --address nowhere", "nowhere is not a flash address"),
        (f"%flash 0x0 {tmp_path / 'a.bin'} 0x1000", "Write ADDRESS FILE pairs"),
        (f"%flash 0x0 {tmp_path / 'a.bin'} --address 0x0", "--address goes with one FILE"),
        (f"%flash zero {tmp_path / 'a.bin'}", "zero is not a flash address"),
    ]:
        r = run(kc, line)
        assert r.status == "error" and words in r.error["evalue"], r.text


def test_panel_takes_an_address(kc: BlockingKernelClient, esp8266: str, tmp_path: Path) -> None:
    app = img.esp8266_v2()
    (tmp_path / "user1.bin").write_bytes(app)
    code = f"""%%host
from mpkernel.widgets.flash import FlashPanel
p = FlashPanel(get_ipython().kernel)
p.port.value = {esp8266!r}
p.file.value = {str(tmp_path / "user1.bin")!r}
p.erase.value = False
p.flash_clicked(None)
print("AT0:", p.status.value)
p.address.value = "0x1000"
p.flash_clicked(None)
print("AT1000:", p.status.value)
"""
    before = flash_md5(esp8266, 0, 0x1000)
    r = run(kc, code)
    assert r.status == "ok", r.text
    assert "AT0: Failed: user1.bin: This is an ESP8266 SDK OTA app" in r.shown
    assert "AT1000: Done: user1.bin written and verified." in r.shown
    assert flash_md5(esp8266, 0x1000, len(app)) == hashlib.md5(app).hexdigest()
    assert flash_md5(esp8266, 0, 0x1000) == before
