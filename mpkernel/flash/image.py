"""Checks on a firmware image before anything is written to a chip."""

from __future__ import annotations

from .identity import human_size

IMAGE_MAGIC = 0xE9
COMBINED_AT = 0x1000  # where an ESP32's bootloader starts inside a combined image
#: Chip ids in the extended header of ESP32-family images (byte 12, little-endian u16).
ESP32_FAMILY = {
    0x0000: "ESP32",
    0x0002: "ESP32-S2",
    0x0005: "ESP32-C3",
    0x0009: "ESP32-S3",
    0x000C: "ESP32-C2",
    0x000D: "ESP32-C6",
    0x0010: "ESP32-H2",
    0x0012: "ESP32-P4",
    0x0014: "ESP32-C61",
    0x0017: "ESP32-C5",
}
FLASH_MODES = {0: "qio", 1: "qout", 2: "dio", 3: "dout"}


class ImageError(ValueError):
    """The file is not an image this chip can run; the message says why."""


def image_chip(data: bytes) -> str | None:
    """The chip an ESP32-family image is built for, or None for an ESP8266 image.

    ESP32-family images carry a 16-byte extended header after the 8-byte header whose
    first byte is the WP pin (0xEE when unused) and whose bytes 12-13 name the chip;
    in an ESP8266 image those bytes are the first segment's load address (0x40xxxxxx).
    """
    if len(data) < 24:
        return None
    wp_pin = data[8]
    chip_id = int.from_bytes(data[12:14], "little")
    if wp_pin == 0xEE and chip_id in ESP32_FAMILY and data[11] != 0x40:
        return ESP32_FAMILY[chip_id]
    return None


def split_combined(data: bytes) -> tuple[bytes, str]:
    """The image inside a combined one (an ESP32's bootloader at 0x1000 after blank flash)."""
    blank = data[:COMBINED_AT].count(0xFF) == COMBINED_AT
    if blank and len(data) > COMBINED_AT and data[COMBINED_AT] == IMAGE_MAGIC:
        return data[COMBINED_AT:], "combined image, "
    return data, ""


def check_magic(data: bytes) -> None:
    """An image written at 0x0 starts with 0xE9, or is a combined one (ImageError if not)."""
    data = split_combined(data)[0]
    if not data:
        raise ImageError("The file is empty: not a firmware image.")
    if data[0] != IMAGE_MAGIC:
        raise ImageError(
            f"Not an ESP firmware image: it starts with 0x{data[0]:02X}, not 0x{IMAGE_MAGIC:02X}. "
            "Download the .bin for your board from micropython.org/download."
        )


def check_image(data: bytes, chip: str, flash_size: int | None, addr: int = 0) -> str:
    """Raise ImageError unless `data` is an image for `chip` that fits; return a summary."""
    if flash_size is not None and addr + len(data) > flash_size:
        raise ImageError(
            f"The image ({len(data):,} bytes) does not fit this chip's {human_size(flash_size)} "
            f"flash at 0x{addr:X}: is it for a board with more flash?"
        )
    if addr != 0:
        return f"{len(data):,} bytes of data at 0x{addr:X}"
    data, kind = split_combined(data)
    check_magic(data)
    built_for = image_chip(data)
    target = chip.upper().replace("ESP32S", "ESP32-S").replace("ESP32C", "ESP32-C")
    if chip.upper() == "ESP8266" and built_for is not None:
        raise ImageError(f"This image is for an {built_for}, but the board is an ESP8266.")
    if chip.upper() != "ESP8266" and built_for is None:
        raise ImageError(f"This image is for an ESP8266, but the board is an {target}.")
    if built_for is not None and built_for != target:
        raise ImageError(f"This image is for an {built_for}, but the board is an {target}.")
    mode = FLASH_MODES.get(data[2], f"0x{data[2]:02X}")
    return f"{kind}{len(data):,} bytes, {data[1]} segments, flash mode {mode} in its header"


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
