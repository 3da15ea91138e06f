"""Backup and flash rates through esptool's protocol on esp32-mock-bootloader (issue 4).

Run: `.venv/bin/python bench/bench_flash.py`. The mock answers over a PTY with no baud
limit, so these numbers measure the protocol path (stub, compression, MD5 checks), not a
UART; on a board at 460800 baud the UART bounds them (~46 KB/s before compression).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from mpkernel.flash.esp import open_chip
from mpkernel.flash.image import esp8266_image
from mpkernel.flash.mock import port as mock_port


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds / 1024:8.0f} KB/s ({n:,} B in {seconds:.2f} s)"


def main() -> None:
    with open_chip(mock_port()) as chip:
        size = chip.info().flash_size or 4 << 20
        start = time.perf_counter()
        chip.read(size)
        print(f"backup (read_flash, MD5-checked)   {rate(size, time.perf_counter() - start)}")
        for name, payload in (
            ("random", os.urandom(1 << 20)),
            ("firmware-like", Path(os.__file__).read_bytes() * 8),
        ):
            image = esp8266_image(payload[: 1 << 20])
            start = time.perf_counter()
            chip.write(0, image)
            took = time.perf_counter() - start
            print(f"flash {name:13s} (compressed+MD5) {rate(len(image), took)}")


if __name__ == "__main__":
    main()
