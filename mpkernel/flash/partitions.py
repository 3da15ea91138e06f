"""ESP32-family partition tables (the binary ESP-IDF writes at 0x8000), read and checked."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

TABLE_AT = 0x8000  # ESP-IDF's default CONFIG_PARTITION_TABLE_OFFSET
TABLE_MAX = 0xC00  # the table and its MD5 row fit in 3 KB
ENTRY_MAGIC = b"\xaa\x50"
MD5_MAGIC = b"\xeb\xeb"  # a row holding the MD5 of the entries before it
END = b"\xff" * 32
ENTRY = struct.Struct("<2sBBII16sI")  # magic, type, subtype, offset, size, label, flags
APP_ALIGN = 0x10000  # app partitions are mapped through the 64 KB MMU pages
DATA_ALIGN = 0x1000


class TableError(ValueError):
    """Not a usable partition table; the message says why."""


@dataclass(frozen=True)
class Partition:
    label: str
    type: int  # 0 app, 1 data
    subtype: int
    offset: int
    size: int

    @property
    def is_app(self) -> bool:
        return self.type == 0

    @property
    def end(self) -> int:
        return self.offset + self.size


def looks_like_table(data: bytes) -> bool:
    return data[:2] == ENTRY_MAGIC


def read_table(data: bytes, flash_size: int | None = None) -> list[Partition]:
    """The partitions in `data`; TableError when it is truncated, corrupt or does not fit."""
    parts: list[Partition] = []
    for start in range(0, TABLE_MAX, ENTRY.size):
        row = data[start : start + ENTRY.size]
        if row == END:
            break
        if len(row) < ENTRY.size:
            raise TableError(
                f"the file ends inside entry {len(parts) + 1} without the end marker "
                "(32 bytes of 0xFF): it is truncated"
            )
        if row[:2] == MD5_MAGIC:
            if row[16:] != hashlib.md5(data[:start]).digest():
                raise TableError("its MD5 row does not match its entries: the file is corrupt")
            continue
        if row[:2] != ENTRY_MAGIC:
            raise TableError(
                f"entry {len(parts) + 1} starts with 0x{row[0]:02X}{row[1]:02X}, not the "
                "partition magic 0xAA50: the file is corrupt"
            )
        _, kind, subtype, offset, size, label, _ = ENTRY.unpack(row)
        name = label.split(b"\0")[0].decode("ascii", "replace")
        parts.append(Partition(name, kind, subtype, offset, size))
    else:
        raise TableError("it has no end marker within 3 KB: not a partition table")
    if not parts:
        raise TableError("it has no partitions")
    _check_layout(parts, flash_size)
    return parts


def _check_layout(parts: list[Partition], flash_size: int | None) -> None:
    previous: Partition | None = None
    for part in sorted(parts, key=lambda p: p.offset):
        align = APP_ALIGN if part.is_app else DATA_ALIGN
        if part.offset % align:
            raise TableError(
                f"partition '{part.label}' starts at 0x{part.offset:X}, not on a "
                f"0x{align:X} boundary"
            )
        if previous is not None and part.offset < previous.end:
            raise TableError(f"partitions '{previous.label}' and '{part.label}' overlap")
        if flash_size is not None and part.end > flash_size:
            raise TableError(
                f"partition '{part.label}' ends at 0x{part.end:X}, past the end of this "
                f"board's flash (0x{flash_size:X}): the table is for a board with more flash"
            )
        previous = part
