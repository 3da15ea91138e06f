"""Checks on firmware images before anything is written to a chip, with esptool's own parser.

Every file to write is read with esptool's image classes for the connected chip
(`LoadFirmwareImage`): its segments must lie inside the file, its checksum must
match, and where the format appends a SHA-256 digest, that must match too. What
the file is (a whole-flash ESP8266 image, an SDK OTA app, an ESP32-family
bootloader, partition table, app or combined image) decides where it may go.
"""

from __future__ import annotations

import itertools
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from esptool.bin_image import (
    BaseFirmwareImage,
    ESP8266V2FirmwareImage,
    LoadFirmwareImage,
    esp8266_crc32,
)
from esptool.targets import CHIP_DEFS
from esptool.util import FatalError

from .identity import human_size
from .log import LOG
from .partitions import TABLE_AT, TableError, looks_like_table, read_table

IMAGE_MAGIC = 0xE9
V2_MAGIC = ESP8266V2FirmwareImage.IMAGE_V2_MAGIC  # 0xEA: the ESP8266 SDK's OTA app format
SECTOR = 0x1000  # the flash erases in 4 KB sectors
APP_AT = 0x10000  # where ESP-IDF's default partition tables put the (factory) app
APP_ALIGN = 0x10000  # apps are mapped through 64 KB MMU pages
#: An SDK OTA app's slots: user1.bin at 0x1000; user2.bin past the middle of a 512 KB or 1 MB map.
SDK_APP_SLOTS = (0x1000, 0x81000, 0x101000)
#: Chip ids in the extended header of ESP32-family images (byte 12, little-endian u16).
ESP32_FAMILY = {
    rom.IMAGE_CHIP_ID: rom.CHIP_NAME
    for rom in CHIP_DEFS.values()
    if getattr(rom, "IMAGE_CHIP_ID", None) is not None
}
FLASH_MODES = {0: "qio", 1: "qout", 2: "dio", 3: "dout"}
NOT_AN_IMAGE = "Download the .bin for your board from micropython.org/download."


class ImageError(ValueError):
    """The file is not an image this chip can run where it would go; the message says why."""


@dataclass
class Region:
    """One file to write and where."""

    addr: int
    data: bytes
    name: str

    @property
    def end(self) -> int:
        return self.addr + len(self.data)


@dataclass
class Found:
    """What a region holds, once checked: a one-line summary and notes for the user."""

    region: Region
    kind: str  # esp8266, sdk-app, bootloader, app, partitions, combined, data
    summary: str
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.region.name} at 0x{self.region.addr:X}: {self.summary}"


# -- reading one image with esptool -------------------------------------------------------


def chip_key(chip: str) -> str:
    """esptool's key for a chip name: "ESP32-S3" -> "esp32s3"."""
    return re.sub(r"[-()]", "", chip.lower())


def chip_name(chip: str) -> str:
    rom = CHIP_DEFS.get(chip_key(chip))
    return str(rom.CHIP_NAME) if rom is not None else chip.upper()


def boot_offset(chip: str) -> int:
    """Where the ROM looks for the first image to run: 0x0 on an ESP8266, 0x1000 on an ESP32."""
    rom = CHIP_DEFS.get(chip_key(chip))
    return int(rom.BOOTLOADER_FLASH_OFFSET) if rom is not None else 0


@contextmanager
def _esptool_notes(into: list[str] | None) -> Iterator[None]:
    """esptool's warnings while it parses go to `into` (None: dropped), not to the session log."""
    lines = LOG.lines
    LOG.lines = (lambda text: into.append(f"esptool: {text}")) if into is not None else None
    try:
        yield
    finally:
        LOG.lines = lines


def _esptool_reason(exc: Exception) -> str:
    """esptool's parse error as the end of our sentence."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    cut = re.match(
        r"End of file reading segment (0x[0-9a-f]+), length (\d+) \(actual length (\d+)", text
    )
    if cut:
        addr, size, got = cut.groups()
        return (
            f"the file ends inside the segment loading at {addr} ({int(size):,} bytes "
            f"declared, {int(got):,} in the file): it is truncated"
        )
    count = re.match(r"Invalid segment count (\d+)", text)
    if count:
        return f"it declares {count.group(1)} segments (an image has at most 16)"
    magic = re.match(r"Invalid firmware image magic=(0x[0-9a-f]+)", text)
    if magic:
        return f"a header starts with {magic.group(1)}, not 0xe9"
    return f"esptool says: {text.rstrip('.')}"


def _parse(data: bytes, chip: str, notes: list[str] | None = None) -> BaseFirmwareImage:
    """esptool's reading of `data` as an image for `chip`, its checksum and digest checked.

    ImageError's message completes "not a valid ESP32 image: ...".
    """
    if len(data) < 8:
        raise ImageError(f"the file has {len(data)} bytes, fewer than an image header")
    try:
        with _esptool_notes(notes):
            image = LoadFirmwareImage(chip, data)
    except FatalError as exc:
        raise ImageError(_esptool_reason(exc)) from None
    except RuntimeError as exc:  # the extended header's append-digest byte is not 0 or 1
        raise ImageError(f"its extended header is invalid ({_short(exc)})") from None
    except (struct.error, TypeError):  # a header, or the checksum byte, is past the end
        raise ImageError("the file ends before the image does: it is truncated") from None
    computed = image.calculate_checksum()
    if image.checksum != computed:
        raise ImageError(
            f"its checksum byte is 0x{image.checksum:02X} but its segments give 0x{computed:02X}: "
            "the file is corrupt"
        )
    if getattr(image, "append_digest", False) and image.data_length is not None:
        if len(image.stored_digest) < len(image.calc_digest):
            raise ImageError(
                "the SHA-256 digest after its checksum is missing or cut short: it is truncated"
            )
        if image.stored_digest != image.calc_digest:
            raise ImageError("its SHA-256 digest does not match its contents: the file is corrupt")
    if image.version == 2:
        _check_crc(data, image)
    return image


def _short(exc: BaseException) -> str:
    args = exc.args
    if len(args) == 2 and isinstance(args[0], str) and "%" in args[0]:
        try:
            return str(args[0] % args[1]).rstrip(".")
        except (TypeError, ValueError):
            pass
    return str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else "unreadable"


def _v1_end(image: BaseFirmwareImage) -> int:
    """Bytes from the image's start to just past its checksum byte (ESP8266 v1/v2 layouts)."""
    last = image.segments[-1] if image.segments else None
    end = last.file_offs + 8 + len(last.data) if last is not None else 8
    return (end | 15) + 1


def _check_crc(data: bytes, image: BaseFirmwareImage) -> None:
    """An SDK OTA app ends with a CRC-32 of everything before it; check it when present."""
    end = _v1_end(image)
    crc = data[end : end + 4]
    if len(crc) < 4 or crc == b"\xff" * 4:
        return  # none appended
    if int.from_bytes(crc, "little") != esp8266_crc32(data[:end]):
        raise ImageError("its CRC-32 (after the checksum) does not match: the file is corrupt")


def _is_app(image: BaseFirmwareImage) -> bool:
    """An ESP32-family app maps segments from flash; a bootloader loads all of its into RAM."""
    return any(image.is_flash_addr(seg.addr) for seg in image.segments)


def image_chip(data: bytes) -> str | None:
    """A guess from the header alone: the ESP32-family chip an image is for, or None.

    ESP32-family images carry a 16-byte extended header after the 8-byte header whose
    first byte is the WP pin (0xEE when unused) and whose bytes 12-13 name the chip;
    in an ESP8266 image those bytes are the first segment's load address (0x40xxxxxx).
    """
    if len(data) < 24:
        return None
    wp_pin = data[8]
    chip_id = int.from_bytes(data[12:14], "little")
    if wp_pin == 0xEE and chip_id in ESP32_FAMILY and data[11] != 0x40:
        return str(ESP32_FAMILY[chip_id])
    return None


def _kind_text(image: BaseFirmwareImage, chip: str) -> str:
    if chip_key(chip) == "esp8266":
        return "an SDK OTA app" if image.version == 2 else "a ROM-format boot image"
    return "an app" if _is_app(image) else "a bootloader"


def _other_esp32(data: bytes, chip: str) -> str | None:
    """'an ESP32 (a bootloader)' when `data` is a complete, valid image for another ESP32 chip.

    Checked first: such an image can also read as an ESP8266 image (its extended header
    parsed as segment headers), and on a chip of the same family its chip id tells.
    """
    if data[:1] != bytes([IMAGE_MAGIC]) or len(data) < 24:
        return None
    other = ESP32_FAMILY.get(int.from_bytes(data[12:14], "little"))
    if other is None or chip_key(other) == chip_key(chip):
        return None
    try:
        image = _parse(data, other)
    except ImageError:
        return None
    return f"an {other} ({_kind_text(image, other)})"


def _esp8266_guess(data: bytes, chip: str) -> str | None:
    """'an ESP8266 (...)' for an ESP8266 image that this ESP32-family chip could not read."""
    if chip_key(chip) == "esp8266" or data[:1] not in (bytes([IMAGE_MAGIC]), bytes([V2_MAGIC])):
        return None
    try:
        image = _parse(data, "esp8266")
    except ImageError:
        return "an ESP8266 (an SDK OTA app)" if data[0] == V2_MAGIC else None
    return f"an ESP8266 ({_kind_text(image, 'esp8266')})"


def read_image(data: bytes, chip: str, notes: list[str] | None = None) -> BaseFirmwareImage:
    """The image in `data`, read by esptool for `chip`; ImageError says what is wrong."""
    name = chip_name(chip)
    other = _other_esp32(data, chip)
    if other is not None:
        raise ImageError(f"This image is for {other}, but the board is an {name}.")
    try:
        image = _parse(data, chip, notes)
    except ImageError as exc:
        other = _esp8266_guess(data, chip)
        guess = image_chip(data)  # the header alone, when esptool cannot read it as an image
        if other is None and guess is not None and chip_key(guess) != chip_key(chip):
            other = f"an {guess}"
        if other is not None:
            raise ImageError(f"This image is for {other}, but the board is an {name}.") from None
        raise ImageError(f"Not a valid {name} image: {exc}.") from None
    chip_id = getattr(image, "chip_id", None)
    expected = getattr(image.ROM_LOADER, "IMAGE_CHIP_ID", None)
    if chip_id is not None and expected is not None and chip_id != expected:
        known = ESP32_FAMILY.get(chip_id)
        built_for = f"an {known}" if known else f"a chip with image id {chip_id}"
        raise ImageError(
            f"This image is for {built_for} ({_kind_text(image, chip)}), "
            f"but the board is an {name}."
        )
    return image


def _facts(image: BaseFirmwareImage) -> str:
    mode = FLASH_MODES.get(image.flash_mode, f"0x{image.flash_mode:02X}")
    digest = ", SHA-256 valid" if getattr(image, "append_digest", False) else ""
    return f"{len(image.segments)} segments, checksum valid{digest}, flash mode {mode}"


# -- what a region holds, and whether it belongs where it would go ---------------------------


def _image_at(region: Region, offset: int, chip: str, found: Found) -> tuple[str, str]:
    """(kind, summary) of the image `offset` bytes into the region."""
    data = region.data[offset:]
    image = read_image(data, chip, found.notes)
    if chip_key(chip) == "esp8266":
        if image.version == 2:
            code = len(image.segments[0].data)
            return (
                "sdk-app",
                f"ESP8266 SDK OTA app (0xEA), {human_size(code)} of flash code, " + _facts(image),
            )
        end = _v1_end(image)
        if len(data) > end + 16:
            rest = human_size(len(data) - end)
            return (
                "esp8266",
                f"whole-flash ESP8266 image (boot header, {_facts(image)}; then {rest} of code)",
            )
        return "esp8266", f"ESP8266 boot image, {_facts(image)}"
    name = chip_name(chip)
    if _is_app(image):
        return "app", f"{name} app, {_facts(image)}"
    return "bootloader", f"{name} bootloader, {_facts(image)}"


def _not_an_image(region: Region, where: str) -> ImageError:
    first = region.data[0]
    return ImageError(
        f"Not an ESP firmware image: it starts with 0x{first:02X}, not 0x{IMAGE_MAGIC:02X}, "
        f"and {where}. {NOT_AN_IMAGE}"
    )


def _app_not_here(name: str, addr: int) -> ImageError:
    return ImageError(
        f"This is an {name} app: it belongs in an app partition (0x{APP_AT:X} usually), not "
        f"at 0x{addr:X} over the bootloader: use --address 0x{APP_AT:X}."
    )


def _check_boot(region: Region, chip: str, flash_size: int | None) -> Found:
    """A region that covers the boot offset: what is there must be this chip's boot image."""
    boot = boot_offset(chip)
    name = chip_name(chip)
    found = Found(region, "", "")
    offset = boot - region.addr
    lead = region.data[:offset]
    if offset and lead.count(0xFF) != len(lead):
        if region.data[0] == IMAGE_MAGIC:  # e.g. MicroPython's ESP32 .bin written at 0x0
            kind, _ = _image_at(region, 0, chip, found)
            if kind == "app":
                raise _app_not_here(name, region.addr)
            if kind == "bootloader":
                raise ImageError(
                    f"This {name} bootloader (or combined image starting with one) belongs at "
                    f"0x{boot:X}, where the ROM starts it, not at 0x{region.addr:X}: use "
                    f"--address 0x{boot:X}."
                )
        raise ImageError(
            f"It would overwrite the {name}'s bootloader at 0x{boot:X} with something that is "
            "not a bootloader."
        )
    head = region.data[offset]
    if head in (IMAGE_MAGIC, V2_MAGIC):
        found.kind, found.summary = _image_at(region, offset, chip, found)
    elif looks_like_table(region.data[offset:]):
        raise ImageError(
            f"This is a partition table: it belongs at 0x{TABLE_AT:X}, not at 0x{boot:X} where "
            f"the bootloader goes: use --address 0x{TABLE_AT:X}."
        )
    elif offset == 0:
        raise _not_an_image(region, f"an image is expected at 0x{boot:X}")
    else:
        raise ImageError(
            f"It has no image at 0x{boot:X}, where the {name}'s ROM looks for the bootloader "
            f"(the bytes there start with 0x{head:02X})."
        )
    if found.kind == "sdk-app":
        raise ImageError(
            f"This is an ESP8266 SDK OTA app (0xEA): the ROM cannot start it at 0x0. It "
            f"belongs at 0x{SDK_APP_SLOTS[0]:X}, after the SDK's boot loader at 0x0: use "
            f"--address 0x{SDK_APP_SLOTS[0]:X}."
        )
    if found.kind == "app":
        raise _app_not_here(name, region.addr)
    if found.kind == "bootloader":
        _combined(found, chip, flash_size)
    if offset:
        found.summary = f"blank up to 0x{boot:X}, then {found.summary}"
    return found


def _combined(found: Found, chip: str, flash_size: int | None) -> None:
    """A bootloader region that reaches 0x8000 with a partition table there: a combined image."""
    region = found.region
    table_at = TABLE_AT - region.addr
    if table_at <= 0 or not looks_like_table(region.data[table_at:]):
        return
    try:
        parts = read_table(region.data[table_at:], flash_size)
    except TableError as exc:
        raise ImageError(f"Its partition table at 0x{TABLE_AT:X} is not valid: {exc}.") from None
    apps = []
    for part in parts:
        start = part.offset - region.addr
        if not part.is_app or start >= len(region.data):
            continue
        head = region.data[start : start + 32]
        if head.count(0xFF) == len(head):
            continue  # an empty slot (OTA partitions often are)
        data = region.data[start : start + part.size]
        try:
            image = read_image(data, chip, found.notes)
        except ImageError as exc:
            raise ImageError(f"Its app '{part.label}' at 0x{part.offset:X}: {exc}") from None
        if not _is_app(image):
            raise ImageError(
                f"Its app partition '{part.label}' at 0x{part.offset:X} holds a bootloader, "
                "not an app."
            )
        apps.append(f"app '{part.label}' at 0x{part.offset:X}")
    labels = ", ".join(p.label for p in parts)
    found.kind = "combined"
    found.summary = (
        f"combined image: {found.summary}; partition table at 0x{TABLE_AT:X} ({labels})"
        + "".join(f"; {app}" for app in apps)
    )


def _check_elsewhere(region: Region, chip: str, flash_size: int | None) -> Found:
    """A region that leaves the boot offset alone."""
    boot = boot_offset(chip)
    name = chip_name(chip)
    found = Found(region, "data", f"{len(region.data):,} bytes of data (not an image)")
    first = region.data[0]
    addr = region.addr
    if looks_like_table(region.data):
        try:
            parts = read_table(region.data, flash_size)
        except TableError as exc:
            raise ImageError(f"Not a valid partition table: {exc}.") from None
        if addr % 0x1000:
            raise ImageError(f"A partition table must start on a 4 KB boundary, not at 0x{addr:X}.")
        found.kind = "partitions"
        found.summary = f"partition table ({', '.join(p.label for p in parts)})"
        if addr != TABLE_AT:
            found.notes.append(
                f"The bootloader looks for the partition table at 0x{TABLE_AT:X} unless it was "
                f"built with another offset; this one goes to 0x{addr:X}."
            )
        return found
    if first not in (IMAGE_MAGIC, V2_MAGIC):
        return found
    found.kind, found.summary = _image_at(region, 0, chip, found)
    if found.kind == "bootloader":
        raise ImageError(
            f"This is an {name} bootloader: it belongs at 0x{boot:X}, where the ROM starts it, "
            f"not at 0x{addr:X}: use --address 0x{boot:X}."
        )
    if found.kind == "app" and addr % APP_ALIGN:
        raise ImageError(
            f"An {name} app must start on a 64 KB boundary (an app partition, 0x{APP_AT:X} "
            f"usually), not at 0x{addr:X}."
        )
    if found.kind == "app" and addr != APP_AT:
        found.notes.append(f"Make sure the partition table has an app partition at 0x{addr:X}.")
    if found.kind == "esp8266":
        found.notes.append(
            f"The ESP8266 ROM starts only the image at 0x0: at 0x{addr:X} a second-stage boot "
            "loader (rboot, the RTOS SDK's) must start this one."
        )
    if found.kind == "sdk-app" and addr not in SDK_APP_SLOTS:
        found.notes.append(
            "An SDK OTA app usually goes at 0x1000 (user1.bin), or at 0x81000 or 0x101000 "
            f"(user2.bin), not 0x{addr:X}."
        )
    if found.kind == "sdk-app":
        found.notes.append("It runs only with the SDK's boot loader (boot_v1.x.bin) at 0x0.")
    return found


def check_region(region: Region, chip: str, flash_size: int | None) -> Found:
    """What `region` holds for `chip`; ImageError unless it is valid there and fits."""
    if not region.data:
        raise ImageError("The file is empty.")
    if flash_size is not None and region.end > flash_size:
        raise ImageError(
            f"It ({len(region.data):,} bytes) does not fit this chip's {human_size(flash_size)} "
            f"flash at 0x{region.addr:X}: is it for a board with more flash?"
        )
    if region.addr <= boot_offset(chip) < region.end:
        return _check_boot(region, chip, flash_size)
    return _check_elsewhere(region, chip, flash_size)


def check_regions(regions: list[Region], chip: str, flash_size: int | None) -> list[Found]:
    """Every region checked, none sharing a flash sector with another; ImageError names the file."""
    ordered = sorted(regions, key=lambda r: r.addr)
    for a, b in itertools.pairwise(ordered):
        if b.addr // SECTOR < -(-a.end // SECTOR):  # writing b erases its sectors first
            raise ImageError(
                f"{a.name} (0x{a.addr:X}-0x{a.end - 1:X}) and {b.name} (0x{b.addr:X}-"
                f"0x{b.end - 1:X}) overlap or share a 4 KB flash sector: writing one would "
                "erase part of the other."
            )
    found = []
    for region in regions:
        try:
            found.append(check_region(region, chip, flash_size))
        except ImageError as exc:
            raise ImageError(f"{region.name}: {exc}") from None
        if region.addr % SECTOR:
            found[-1].notes.append(
                f"0x{region.addr:X} is not on a 4 KB sector boundary: the "
                f"{region.addr % SECTOR:,} bytes before it in its sector will be erased."
            )
    return found


def check_erase_all(regions: list[Region], chip: str) -> None:
    """Erasing the whole flash first is only safe when the boot image is among the writes."""
    boot = boot_offset(chip)
    if not any(r.addr <= boot < r.end for r in regions):
        raise ImageError(
            f"Erasing the whole flash also erases what boots the {chip_name(chip)} at "
            f"0x{boot:X}, and none of the files goes there: the board would not start. "
            "Add the boot image to the files, or flash without erasing."
        )


def precheck(region: Region) -> None:
    """What can be refused before a chip is touched: empty files, non-images at 0x0."""
    if not region.data:
        raise ImageError(f"{region.name}: The file is empty.")
    known = region.data[0] in (IMAGE_MAGIC, V2_MAGIC, 0xFF) or looks_like_table(region.data)
    if region.addr == 0 and not known:
        where = "an image is expected at 0x0"
        raise ImageError(f"{region.name}: {_not_an_image(region, where)}")


def esp8266_image(payload: bytes, entry: int = 0x40100004, flash_mode: int = 2) -> bytes:
    """A minimal valid ESP8266 image (one IRAM segment): for tests and demonstrations."""
    body = payload + b"\0" * (-len(payload) % 4)
    header = bytes([IMAGE_MAGIC, 1, flash_mode, 0x40]) + entry.to_bytes(4, "little")
    segment = (0x40100000).to_bytes(4, "little") + len(body).to_bytes(4, "little") + body
    checksum = 0xEF
    for b in body:
        checksum ^= b
    image = header + segment
    image += b"\0" * (15 - len(image) % 16) + bytes([checksum])
    return image
