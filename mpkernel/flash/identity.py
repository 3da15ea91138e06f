"""What a chip's SPI flash id means: manufacturer, part and size."""

from __future__ import annotations

from dataclasses import dataclass

#: JEDEC manufacturer ids seen on ESP8266/ESP32 boards.
VENDORS = {
    0xE0: "Berg Micro",
    0xEF: "Winbond",
    0xC8: "GigaDevice",
    0x20: "XMC",
    0x1C: "EON",
    0x68: "Boya",
    0x5E: "Zbit",
    0xC2: "Macronix",
    0x85: "Puya",
    0x0B: "XTX",
    0xA1: "Fudan",
    0x9D: "ISSI",
}

#: (manufacturer, device) -> part name, where a board's flash is a known part.
PARTS = {
    (0xE0, 0x4014): "BG25Q80A",
    (0xE0, 0x4015): "BG25Q16A",
    (0xE0, 0x4016): "BG25Q32A",
    (0xEF, 0x4014): "W25Q80",
    (0xEF, 0x4015): "W25Q16",
    (0xEF, 0x4016): "W25Q32",
    (0xEF, 0x4017): "W25Q64",
    (0xEF, 0x4018): "W25Q128",
    (0xC8, 0x4014): "GD25Q80",
    (0xC8, 0x4015): "GD25Q16",
    (0xC8, 0x4016): "GD25Q32",
    (0xC8, 0x4017): "GD25Q64",
    (0x20, 0x4016): "XM25QH32",
    (0x68, 0x4016): "BY25Q32",
}


@dataclass(frozen=True)
class FlashChip:
    """A decoded flash id (the 24 bits the SPI RDID command answers)."""

    raw: int

    @property
    def manufacturer(self) -> int:
        return self.raw & 0xFF

    @property
    def device(self) -> int:
        """Memory type (high byte) and capacity code (low byte), as datasheets print it."""
        return ((self.raw >> 8) & 0xFF) << 8 | (self.raw >> 16) & 0xFF

    @property
    def size(self) -> int | None:
        """Capacity in bytes: 2**code for the usual codes (0x14 = 1 MB ... 0x19 = 32 MB)."""
        code = (self.raw >> 16) & 0xFF
        return 1 << code if 0x10 <= code <= 0x19 else None

    @property
    def vendor(self) -> str:
        return VENDORS.get(self.manufacturer, f"unknown maker 0x{self.manufacturer:02X}")

    @property
    def part(self) -> str | None:
        return PARTS.get((self.manufacturer, self.device))

    def describe(self) -> str:
        """e.g. 'Berg Micro BG25Q80A, 1 MB (manufacturer 0xE0, device 0x4014)'."""
        name = f"{self.vendor} {self.part}" if self.part else self.vendor
        size = f", {human_size(self.size)}" if self.size else ", size unknown"
        return f"{name}{size} (manufacturer 0x{self.manufacturer:02X}, device 0x{self.device:04X})"


def human_size(n: int) -> str:
    """Flash sizes as datasheets and esptool write them: 512KB, 1MB, 4MB."""
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}MB"
    return f"{n >> 10}KB" if n % 1024 == 0 else f"{n} bytes"


def parse_size(text: str) -> int:
    """'4MB', '512KB', '0x400000' or '4194304' -> bytes (ValueError if none of these)."""
    t = text.strip().upper().replace(" ", "")
    for unit, mult in (("MB", 1 << 20), ("KB", 1 << 10), ("M", 1 << 20), ("K", 1 << 10)):
        if t.endswith(unit):
            return int(float(t[: -len(unit)]) * mult)
    return int(t, 0)
