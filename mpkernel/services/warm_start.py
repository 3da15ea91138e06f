"""At kernel start: the board that the first cell will use starts while the kernel loads.

Where no board is named (MPKERNEL_PORT) and none is found by USB id, the first cell
connects to the virtual board; its process (MicroPython behind a PTY) is started before
the kernel's own imports, so that it is ready by the first cell. A board connected
instead stops it (Connection.open); the kernel's end stops it in any case.
"""

from __future__ import annotations

import contextlib
import os

from ..board.links.ports import find_boards
from ..board.virtual.board import VirtualBoard


def start_virtual_board_early() -> None:
    """Start the virtual board's process if the first cell will use it (from the main
    thread: the board ends with the thread that started it)."""
    if os.environ.get("MPKERNEL_PORT", "").strip():
        return
    with contextlib.suppress(Exception):  # the first cell's connect says what is wrong
        if not find_boards():
            VirtualBoard.start_spare()
