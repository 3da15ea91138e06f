"""The BBC micro:bit's real MicroPython (1.9.2, Debian's firmware-microbit-micropython)
under QEMU, behind a PTY: old, small firmware (no raw-paste, no sys.stdin, a flat
filesystem, ~9 KB of heap) on a real UART receive path, for tests and bench/."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager

FIRMWARE = "/usr/share/firmware-microbit-micropython/firmware.hex"
INSTALL = "apt-get install qemu-system-arm firmware-microbit-micropython"
BANNER = b'Type "help()" for more information.'
#: Seconds for QEMU to print its PTY and for the firmware to print its banner.
START_TIMEOUT = 30.0


class MicrobitUnavailable(RuntimeError):
    """QEMU or the firmware is missing, or the board did not start."""


def argv() -> list[str]:
    """The QEMU command line (the firmware's UART behind a new PTY)."""
    return [
        "qemu-system-arm", "-M", "microbit", "-display", "none", "-monitor", "none",
        "-device", f"loader,file={FIRMWARE}", "-serial", "pty",
    ]  # fmt: skip


@contextmanager
def qemu_microbit() -> Iterator[str]:
    """Start the micro:bit; yield its PTY's path once the firmware has printed its banner;
    kill QEMU at the end."""
    if shutil.which("qemu-system-arm") is None or not os.path.exists(FIRMWARE):
        raise MicrobitUnavailable(f"no QEMU micro:bit here: {INSTALL}")
    proc = subprocess.Popen(
        argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        yield _wait_ready(proc)
    finally:
        proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _wait_ready(proc: subprocess.Popen[bytes]) -> str:
    """The PTY from QEMU's first line, once the firmware's banner came through it."""
    assert proc.stdout is not None
    end = time.monotonic() + START_TIMEOUT
    first = b""
    while not first.endswith(b"\n"):
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, end - time.monotonic()))
        byte = os.read(proc.stdout.fileno(), 1) if ready else b""
        if not byte:
            raise MicrobitUnavailable(f"QEMU did not start the micro:bit ({first!r}): {INSTALL}")
        first += byte
    found = re.search(rb"/dev/pts/\d+", first)
    if found is None:
        raise MicrobitUnavailable(f"QEMU printed no PTY: {first!r}")
    path = found.group().decode()
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        seen = b""
        while BANNER not in seen:
            left = end - time.monotonic()
            if left <= 0:
                raise MicrobitUnavailable(f"the micro:bit printed no banner: {seen[-80:]!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                seen += os.read(fd, 4096)
    finally:
        os.close(fd)
    return path
