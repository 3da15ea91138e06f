"""A board on a serial port: a device path or any pyserial URL (socket://, rfc2217://)."""

from __future__ import annotations

import contextlib
import errno
import select
import time

import serial

from .transport import Transport, TransportError


def open_error(port: str, exc: BaseException) -> TransportError:
    """Turn pyserial's open failure into one line that says what to do."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT or "No such file" in text or "FileNotFoundError" in text:
        return TransportError(
            f"No serial port {port}: check the cable, or run %ports to list the ports present."
        )
    if code == errno.EACCES or "Permission denied" in text or "PermissionError" in text:
        return TransportError(
            f"No permission to open {port}: add your user to the 'dialout' group and log in "
            "again (see install/linux-serial-permissions.md)."
        )
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text or "busy" in text:
        return TransportError(
            f"Port {port} is busy: another program has it open (a serial terminal, Thonny, "
            "mpremote, esptool or another notebook's kernel). Close it and try again."
        )
    if "Connection refused" in text or "timed out" in text:
        return TransportError(f"Nothing answers at {port}: is the server or bridge running?")
    return TransportError(f"Cannot open {port}: {text}")


class SerialTransport(Transport):
    """pyserial under the Transport interface; opened exclusively, like esptool does."""

    kind = "serial"

    def describe(self) -> str:
        """The link, for a connection message."""
        return f"{self.name} at {self.baudrate} baud"

    @property
    def tool_port(self) -> str | None:
        return self.name

    def __init__(self, port: str, baudrate: int = 115200) -> None:
        self.name = port
        self.baudrate = baudrate
        try:
            self._serial = serial.serial_for_url(
                port, baudrate=baudrate, timeout=0, write_timeout=10, exclusive=True
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise open_error(port, exc) from None
        fileno = getattr(self._serial, "fileno", None)
        try:
            self._fd: int | None = fileno() if fileno else None
        except Exception:
            self._fd = None

    def _gone(self, exc: Exception) -> TransportError:
        self.close()
        self._gone_error = TransportError(
            f"The board on {self.name} stopped answering (unplugged, reset or powered off?): {exc}."
            " Run %connect to reconnect."
        )
        return self._gone_error

    def _closed(self) -> TransportError:
        """Why the port is closed: how it went (said again to the next user), or not opened."""
        gone = getattr(self, "_gone_error", None)
        return gone or TransportError("Not connected: run %connect first.")

    def write(self, data: bytes) -> None:
        if not self._serial.is_open:
            raise self._closed()
        try:
            self._serial.write(data)
        except (serial.SerialException, OSError) as exc:
            raise self._gone(exc) from None

    def _wait(self, timeout: float) -> None:
        """Block until bytes may be readable or `timeout` passes."""
        if self._fd is not None:
            select.select([self._fd], [], [], timeout)
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self._serial.in_waiting:
            time.sleep(0.002)

    def read(self, timeout: float) -> bytes:
        if not self._serial.is_open:
            raise self._closed()
        try:
            data = self._serial.read(4096)
            if data or timeout <= 0:
                return data
            self._wait(timeout)
            return self._serial.read(4096)
        except (serial.SerialException, OSError) as exc:
            raise self._gone(exc) from None

    def hard_reset(self) -> bool:
        """Pulse EN low through RTS, with GPIO0 (DTR) released: the classic auto-reset circuit."""
        try:
            self._serial.dtr = False
            self._serial.rts = True  # EN low: chip held in reset
            time.sleep(0.1)
            self._serial.rts = False  # EN high: chip boots from flash
        except (serial.SerialException, OSError, ValueError):
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()
