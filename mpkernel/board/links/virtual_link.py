"""The virtual board as a link: its PTY is a serial port, its reset button a signal."""

from __future__ import annotations

from pathlib import Path

from ..virtual.board import VirtualBoard
from .serial_transport import SerialTransport


class VirtualTransport(SerialTransport):
    """A serial link to a virtual board that this transport started and stops on release
    (unless its WebREPL serves: then it keeps running, and the next link to a virtual board
    reaches the same board, as plugging its cable back in)."""

    kind = "virtual"
    simulated = True
    #: No cable here: a damaged transfer means the board reset or stopped answering.
    retry_hint = "The board reset or stopped answering meanwhile: try again."

    def __init__(self, root: str | Path | None = None, baudrate: int = 115200) -> None:
        self.virtual = VirtualBoard.reuse(root)  # one kept for its WebREPL, or a new one
        try:
            super().__init__(self.virtual.port, baudrate)
        except BaseException:
            self.virtual.stop()
            raise
        self.name = "virtual"

    def describe(self) -> str:
        return "the virtual board (MicroPython's unix port on this computer)"

    @property
    def tool_port(self) -> str | None:
        return None  # a PTY with no chip behind it

    def hard_reset(self) -> bool:
        """The reset button: boot.py and main.py run again (returns once they start)."""
        self.virtual.reset_and_wait()
        return True

    def release(self) -> None:
        self.close()
        self.virtual.release()
