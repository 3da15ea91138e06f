"""The transport layer: bytes in, bytes out, to one board."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from ...errors import BoardError


class TransportError(BoardError):
    """The link to the board failed (missing, busy, or gone); the message says what to do."""


class Transport(ABC):
    """A byte link to a board: a serial port, a WebREPL socket, ..."""

    #: "serial", "virtual", "webrepl" or "browser-serial": shown to users, in provenance.
    kind: str = "serial"
    #: What the user typed to reach the board (port path, URL).
    name: str = ""
    #: A simulated board (no chip behind it: flashing tools get a simulated bootloader).
    simulated: bool = False
    #: The link echoes what is sent while code runs, as a PTY in cooked mode does (a board's
    #: UART never does; the virtual board's PTY has echo off).
    echoes: bool = False
    #: Any byte may travel to a running program's stdin (only Ctrl-C is acted on); False
    #: where the link carries text only (WebREPL's text frames).
    binary_stdin: bool = True
    #: Bytes a running program may be sent on stdin in one go (a mounted folder's read
    #: answers): a UART's receive buffer is read as fast as bytes arrive, so 1 KB is safe.
    stdin_chunk: int = 768

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes to the board."""

    @abstractmethod
    def read(self, timeout: float) -> bytes:
        """Return the bytes that arrive within `timeout` seconds (b"" if none).

        Returns as soon as anything is available. Raises TransportError when the link is gone.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the link (idempotent)."""

    def interrupt(self) -> None:
        """Ask the board to stop what it runs (Ctrl-C)."""
        self.write(b"\x03")  # Ctrl-C: KeyboardInterrupt on the board

    def raw_paste(
        self, code: bytes, window: int, then: bytes = b"", credit: int | None = None
    ) -> bool:
        """Write `code` in raw-paste mode (the board's window is `window` bytes and it has
        granted `credit` so far: one window when None), its Ctrl-D, then `then`, keeping the
        board's flow control at the link's far end; return False where the link leaves that
        to the caller (default: the board is next to us)."""
        return False

    def write_paced(self, data: bytes, size: int, pause: float) -> None:
        """Write `data` in slices of `size` bytes, `pause` s after each (a board without flow
        control); a link with a far end paces there."""
        for i in range(0, len(data), size):
            self.write(data[i : i + size])
            time.sleep(pause)

    def write_windowed(self, frames: list[bytes], window: int, ack: bytes) -> bool:
        """Write `frames` with at most `window` of them unacknowledged, where each `ack` byte
        from the board acknowledges one (they still reach read()); the far end stops at the
        first other byte. False where the caller keeps that window itself (default)."""
        return False

    def describe(self) -> str:
        """The link, for a connection message ("/dev/ttyUSB0 at 115200 baud")."""
        return self.name

    #: What to suggest when a transfer over this link arrives damaged.
    retry_hint: str = "Check the cable and try again."

    def hard_reset(self) -> bool:
        """Reset the chip by hardware if this link can (DTR/RTS); return whether it did."""
        return False

    @property
    def tool_port(self) -> str | None:
        """The serial port that other tools (esptool) can open once we let go, if any."""
        return None

    def stalled(self, seconds: float) -> TransportError | None:
        """Nothing came back for `seconds` where the board answers at once (the `OK` for
        code it was sent): the error to raise where this link counts that as a stall (it is
        then closed, so nothing late from the board is taken for the next command's answer);
        None where the caller's own message fits (default)."""
        return None

    def dropped_at_reset(self) -> bool:
        """Whether the link just ended because the board reset (not because it broke)."""
        return False

    def reopen(self, hard: bool) -> bool:
        """Open the link again after the board dropped it at a reset (hard: a chip reset).

        Returns False for links that stay open across resets (a serial port).
        """
        return False

    def release(self) -> None:
        """Close the link and stop whatever it started (default: just close)."""
        self.close()

    def drain(self, quiet: float = 0.05, limit: float = 2.0) -> bytes:
        """Read until the board has been silent for `quiet` seconds (at most `limit` seconds)."""
        out = bytearray()
        end = time.monotonic() + limit
        while time.monotonic() < end:
            chunk = self.read(quiet)
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
