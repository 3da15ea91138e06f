"""Start tests/serial_bridge.py (the ports behind the `navigator.serial` shim) for a test."""

from __future__ import annotations

import contextlib
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "serial_bridge.py"
#: Seconds the bridge may take to print its URL on a busy machine.
START_WAIT = 60.0


@contextlib.contextmanager
def serial_bridge(specs: list[str]) -> Iterator[str]:
    """The bridge serving `specs` (NAME=PTY[@RESET_PID] each): its ws:// URL while it runs."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), *specs], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_WAIT)
        url = proc.stdout.readline().strip() if ready else ""
        assert url.startswith("ws://"), "the serial bridge did not start"
        yield url
    finally:
        proc.kill()
        proc.wait()
