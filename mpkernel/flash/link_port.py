"""The page's serial port (the browser link) as a pyserial port object, for esptool.

esptool takes an open `serial.SerialBase`; this one reads and writes through a
`BrowserSerialTransport`: DTR/RTS become the link's signal frames (the page calls
`setSignals`), a baud change closes and reopens the port in the page. Timeouts are
pyserial's: `read(n)` returns what arrived within `timeout` seconds.
"""

from __future__ import annotations

import time

import serial

from ..board.links import link_frames as lf
from ..board.links.browser_serial import BrowserSerialTransport
from ..board.links.transport import TransportError

#: The name esptool sees (it is no device path: nothing opens it by name).
NAME = "browser"


class LinkPort(serial.SerialBase):
    """An open pyserial port over the browser link (`open()` is a no-op: the page opened it)."""

    def __init__(self, link: BrowserSerialTransport, baudrate: int) -> None:
        self.link = link
        self._pending = bytearray()
        super().__init__(port=None, baudrate=baudrate, timeout=3.0)
        # pyserial starts with both lines asserted; after bootloader_reset() both are
        # released (esptool's own resets leave them so too): a later RTS pulse is a reset
        self._dtr_state = self._rts_state = False
        self._port = NAME
        self.is_open = True
        self.name = NAME

    # -- pyserial's hooks ------------------------------------------------------------------

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def _reconfigure_port(self, force_update: bool = False) -> None:
        if getattr(self, "link", None) is not None and self.link.baudrate != self._baudrate:
            try:
                self.link.set_baud(self._baudrate)
            except TransportError as exc:
                raise serial.SerialException(str(exc)) from None

    def _update_dtr_state(self) -> None:
        self._signals()

    def _update_rts_state(self) -> None:
        self._signals()

    def _update_break_state(self) -> None:
        pass  # esptool never sends a break

    def _signals(self) -> None:
        if getattr(self, "link", None) is None or not self.is_open:
            return
        try:
            self.link.set_signals(dtr=bool(self._dtr_state), rts=bool(self._rts_state))
        except TransportError as exc:
            raise serial.SerialException(str(exc)) from None

    # -- bytes -----------------------------------------------------------------------------

    @property
    def in_waiting(self) -> int:
        self._take(0)
        return len(self._pending)

    def _take(self, timeout: float) -> None:
        try:
            self._pending += self.link.read(timeout)
        except TransportError as exc:
            raise serial.SerialException(str(exc)) from None

    def read(self, size: int = 1) -> bytes:
        timeout = self._timeout
        end = None if timeout is None else time.monotonic() + timeout
        while len(self._pending) < size:
            left = 3600.0 if end is None else end - time.monotonic()
            if left <= 0:
                break
            self._take(min(left, 0.5))
        out = bytes(self._pending[:size])
        del self._pending[:size]
        return out

    def write(self, data: bytes) -> int:
        try:
            self.link.write(bytes(data))
        except TransportError as exc:
            raise serial.SerialException(str(exc)) from None
        return len(data)

    def reset_input_buffer(self) -> None:
        self._pending.clear()
        self.link.reset_input()

    def reset_output_buffer(self) -> None:
        pass  # the page writes in order; nothing waits here

    def flush(self) -> None:
        pass


def page_holds_port() -> bool:
    """Whether a page holds a port for this kernel now (its link's socket is there): a board
    without MicroPython yet (nothing to connect to) is still flashed through it."""
    try:
        from ipykernel.connect import get_connection_file

        return lf.socket_path(get_connection_file()).exists()
    except (ImportError, RuntimeError, OSError):
        return False


def bootloader_reset(link: BrowserSerialTransport) -> None:
    """The classic auto-reset into the ROM bootloader through the page (esptool-notes.md):
    EN low with GPIO0 high, then EN high with GPIO0 low, then GPIO0 released. DTR drives
    GPIO0, RTS drives EN; each step sets both lines at once, as setSignals does."""
    link.set_signals(dtr=False, rts=True)  # EN low (reset), GPIO0 high
    time.sleep(0.1)
    link.set_signals(dtr=True, rts=False)  # EN high, GPIO0 low: the ROM starts in download mode
    time.sleep(0.05)
    link.set_signals(dtr=False, rts=False)  # GPIO0 released
