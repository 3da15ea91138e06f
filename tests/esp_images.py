"""Firmware images built byte by byte from the formats' facts, for the image-check tests.

Written independently of esptool's writers, so that esptool's parser (used by
mpkernel) is checked against images that nobody built with it.
"""

from __future__ import annotations

import binascii
import hashlib
import struct

Segments = list[tuple[int, bytes]]

# Load addresses seen in real builds (ESP32: IDF bootloader and app; C3/S3 likewise).
ESP32_BOOTLOADER = [
    (0x3FFF0030, b"\x11" * 0x60),
    (0x3FFF0090, b"\x22" * 0x400),
    (0x40078000, b"\x33" * 0x1000),
    (0x40080400, b"\x44" * 0x200),
]
ESP32_APP = [
    (0x3F400020, b"\x55" * 0x800),  # DROM, mapped from flash
    (0x3FFB0000, b"\x66" * 0x200),  # DRAM
    (0x400D0020, b"\x77" * 0x1000),  # IROM, mapped from flash
    (0x40080000, b"\x88" * 0x400),  # IRAM
]
S3_BOOTLOADER = [(0x3FCD5820, b"\x12" * 0x200), (0x403CC710, b"\x34" * 0x800)]
C3_APP = [(0x3C000020, b"\x56" * 0x400), (0x42000020, b"\x78" * 0x800), (0x3FC80000, b"\x9a" * 64)]
ESP8266_SEGMENTS = [(0x40100000, b"\xa1" * 0x700), (0x3FFE8000, b"\xb2" * 0x40)]
CHIP_IDS = {"esp32": 0, "esp32s2": 2, "esp32c3": 5, "esp32s3": 9}


def xor_checksum(segments: Segments) -> int:
    value = 0xEF
    for _, data in segments:
        for b in data:
            value ^= b
    return value


def _segments(segments: Segments) -> bytes:
    return b"".join(struct.pack("<II", addr, len(data)) + data for addr, data in segments)


def _with_checksum(body: bytes, checksum: int) -> bytes:
    """Zero padding so that the checksum is the last byte of a 16-byte block."""
    return body + b"\0" * (15 - len(body) % 16) + bytes([checksum])


def esp8266_v1(segments: Segments = ESP8266_SEGMENTS, entry: int = 0x40100004) -> bytes:
    """A ROM-format (v1) ESP8266 image: header 0xE9, RAM segments, XOR checksum."""
    header = struct.pack("<BBBBI", 0xE9, len(segments), 2, 0x40, entry)
    return _with_checksum(header + _segments(segments), xor_checksum(segments))


def esp8266_whole_flash(code: bytes = b"\xc3" * 5001) -> bytes:
    """MicroPython's layout: the v1 image at 0x0, then flash-mapped code from 0x9000."""
    boot = esp8266_v1()
    return boot + b"\xff" * (0x9000 - len(boot)) + code


def esp8266_crc32(data: bytes) -> int:
    """The SDK's CRC-32 variant at the end of an OTA app."""
    crc = binascii.crc32(data) & 0xFFFFFFFF
    return crc ^ 0xFFFFFFFF if crc & 0x80000000 else crc + 1


def esp8266_v2(irom: bytes = b"\xd4" * 0x2000, segments: Segments = ESP8266_SEGMENTS) -> bytes:
    """An SDK OTA app ("v2", 0xEA): flash code first, then a v1 header and RAM segments, CRC."""
    entry = 0x40100004
    first = struct.pack("<BBBBI", 0xEA, 4, 2, 0x40, entry)
    irom += b"\0" * (-len(irom) % 16)
    second = struct.pack("<BBBBI", 0xE9, len(segments), 2, 0x40, entry)
    body = first + struct.pack("<II", 0, len(irom)) + irom + second + _segments(segments)
    image = _with_checksum(body, xor_checksum(segments))
    return image + struct.pack("<I", esp8266_crc32(image))


def esp32_image(
    segments: Segments,
    chip: str = "esp32",
    append_digest: bool = True,
    wp_pin: int = 0xEE,
) -> bytes:
    """An ESP32-family image: header, 16-byte extended header, segments, checksum, SHA-256."""
    header = struct.pack("<BBBBI", 0xE9, len(segments), 2, 0x20, 0x40080000)
    extended = struct.pack(
        "<BBBBHBHH4sB", wp_pin, 0, 0, 0, CHIP_IDS[chip], 0, 0, 399, b"\0" * 4, int(append_digest)
    )
    image = _with_checksum(header + extended + _segments(segments), xor_checksum(segments))
    return image + hashlib.sha256(image).digest() if append_digest else image


def partition_table(
    rows: list[tuple[str, int, int, int, int]] | None = None, md5: bool = True
) -> bytes:
    """ESP-IDF's binary table: 32-byte rows (0xAA50), an MD5 row (0xEBEB), 0xFF to 3 KB."""
    if rows is None:
        rows = [
            ("nvs", 1, 0x02, 0x9000, 0x6000),
            ("phy_init", 1, 0x01, 0xF000, 0x1000),
            ("factory", 0, 0x00, 0x10000, 0x1F0000),
        ]
    table = b"".join(
        struct.pack("<2sBBII16sI", b"\xaa\x50", kind, sub, offset, size, label.encode(), 0)
        for label, kind, sub, offset, size in rows
    )
    if md5:
        table += b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(table).digest()
    return table + b"\xff" * (0xC00 - len(table))


def combined(bootloader: bytes, table: bytes, app: bytes, at: int = 0x1000) -> bytes:
    """One file from `at`: bootloader, table at 0x8000 and app at 0x10000, 0xFF between."""
    data = bootloader + b"\xff" * (0x8000 - at - len(bootloader)) + table
    return data + b"\xff" * (0x10000 - at - len(data)) + app
