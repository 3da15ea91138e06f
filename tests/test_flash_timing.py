"""The simulated bootloader keeps working when the host is slow (a busy machine).

These stall the host on purpose, at the two moments where esp32-mock-bootloader used to
give up on its own: mid-way through streaming a flash read, and more than 3 s after a
flash write ended. A real chip waits in both cases; so must the simulator the kernel runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpkernel.flash.esp import open_chip
from mpkernel.flash.mock import start as start_mock_bootloader

pytest.importorskip("esp32_mock_bootloader", reason="esp32-mock-bootloader (test tools) missing")

pytestmark = pytest.mark.timing

BATCH = 64 * 4096  # esptool lets 64 sectors of 4 KB be in flight during a read


@pytest.fixture
def mock_port(tmp_path: Path) -> Iterator[str]:
    proc, port = start_mock_bootloader(tmp_path)
    yield port
    proc.kill()
    proc.wait()


def test_read_survives_a_stalled_host(mock_port: str) -> None:
    image = bytes(range(256)) * (2 * BATCH // 256)
    with open_chip(mock_port) as chip:
        chip.write(0, image)
    stalled: list[int] = []

    def progress(done: int, total: int) -> None:
        # One sector before a batch ends, the simulator waits for this acknowledgement:
        # the host is descheduled (simulated) for 0.3 s here.
        if done == BATCH - 4096 and not stalled:
            stalled.append(done)
            time.sleep(0.3)

    with open_chip(mock_port) as chip:
        assert chip.read(2 * BATCH, progress) == image
    assert stalled == [BATCH - 4096]


def test_stub_stays_after_a_write_while_the_host_is_slow(mock_port: str) -> None:
    with open_chip(mock_port) as chip:
        chip.write(0, b"\xe9" + bytes(4095))
    with open_chip(mock_port) as chip:
        time.sleep(3.5)  # the host busy elsewhere for longer than the simulator's old 3 s
        assert chip.read(4096) == b"\xe9" + bytes(4095)
