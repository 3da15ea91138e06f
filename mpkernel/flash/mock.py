"""A simulated ESP8266 ROM bootloader for the virtual board (esp32-mock-bootloader, a test tool).

The virtual board is MicroPython on this computer: it has no chip to flash. When the
test tools are installed, flash magics aimed at it use this simulator instead (an
in-memory 4 MB flash behind a pseudo-terminal), and say so.

The simulator has two timing assumptions that a busy computer breaks, both removed by
`serve`: while streaming a flash read it gives up when esptool's acknowledgement is more
than 50 ms late (esptool itself waits 3 s per packet), and it starts a new chip session
(stub gone) 3 s after a flash write ended, even in the middle of the next connection.
A real chip does neither: its stub waits for acknowledgements and stays until reset.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..board.virtual.board import clean_env, die_with_parent

#: How long the simulator waits for esptool's acknowledgement while streaming a read.
ACK_WAIT = 30.0
_RUNNING: dict[str, tuple[subprocess.Popen[bytes], str]] = {}


def available() -> bool:
    return importlib.util.find_spec("esp32_mock_bootloader") is not None


def start(folder: Path, chip: str = "esp8266") -> tuple[subprocess.Popen[bytes], str]:
    """Start a simulator of its own; returns the process and its PTY path."""
    port_file = folder / "port"
    code = "import sys; from mpkernel.flash.mock import serve; sys.exit(serve(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "run", "--pty", "--chip", chip, "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,  # never outlives the kernel
        start_new_session=True,  # the stop button (SIGINT to the kernel's group) spares it
        env=clean_env(),
    )
    end = time.monotonic() + 10
    while time.monotonic() < end and proc.poll() is None:
        text = port_file.read_text().strip() if port_file.exists() else ""
        if text:
            return proc, text
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the simulated bootloader (esp32-mock-bootloader) did not start")


def serve(argv: list[str]) -> int:
    """Run esp32-mock-bootloader's command line, patient like a real chip (see above)."""
    from esp32_mock_bootloader import cli, server

    stream = getattr(server, "perform_read_flash_stream", None)
    if stream is not None and hasattr(server, "_CLIENT_RECV_TIMEOUT"):

        def patient_stream(conn: Any, *args: Any, **kwargs: Any) -> Any:
            conn.set_timeout(ACK_WAIT)
            try:
                return stream(conn, *args, **kwargs)
            finally:
                conn.set_timeout(server._CLIENT_RECV_TIMEOUT)

        server.perform_read_flash_stream = patient_stream
    if hasattr(server, "_FLASH_END_IDLE_SEC"):
        server._FLASH_END_IDLE_SEC = float("inf")  # the stub stays until the next reset
    return int(cli.main(argv) or 0)


def port(chip: str = "esp8266") -> str:
    """The kernel's simulator, started once (it keeps its flash while it runs)."""
    running = _RUNNING.get(chip)
    if running and running[0].poll() is None:
        return running[1]
    proc, path = start(Path(tempfile.mkdtemp(prefix="mpkernel-mockboot-")), chip)
    _RUNNING[chip] = (proc, path)
    return path


@atexit.register
def stop_all() -> None:
    for proc, _ in _RUNNING.values():
        with contextlib.suppress(Exception):
            proc.kill()
            proc.wait(2)
    _RUNNING.clear()
