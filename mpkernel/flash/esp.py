"""Talking to an ESP chip's ROM bootloader with esptool's Python API, in-process.

Every failure becomes a FlashError whose one line says what happened, what to do, and
what state the flash is in. Nothing here prints: messages go to `log.LOG.lines`.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import esptool
import serial
from esptool.util import FatalError

from ..board.links.serial_transport import open_error
from ..errors import OperationError
from .identity import FlashChip, human_size
from .log import LOG, Lines, ProgressSink

FAST_BAUD = 460_800  # safe on CH340 adapters; 921600 fails on some
ROM_BAUD = 115_200
#: The port name of the board the page opened (the browser link, %connect browser).
LINK = "browser"


class FlashError(OperationError):
    """A chip operation failed; the message is one line for the user."""


def esptool_version() -> str:
    return str(getattr(esptool, "__version__", "?"))


def has_reset_lines(port: str) -> bool:
    """Whether DTR/RTS can reset the chip: real USB-serial adapters (also the one the page
    opened: the browser link carries DTR/RTS), not PTYs or sockets."""
    if port == LINK:
        return True
    if "://" in port:
        return False
    real = os.path.realpath(port)
    return not real.startswith(("/dev/pts/", "/dev/ttyp", "/dev/ttys"))


def _open_error(port: str, exc: BaseException) -> FlashError:
    """The serial link's own one-line message for a missing, busy or forbidden port."""
    return FlashError(str(open_error(port, exc)))


def _check_port(port: str) -> None:
    """Missing, busy or forbidden ports get their own message before esptool tries them."""
    if "://" in port or port == LINK:
        return
    try:
        serial.Serial(port, ROM_BAUD, exclusive=True).close()
    except (serial.SerialException, OSError) as exc:
        raise _open_error(port, exc) from None


NOT_IN_BOOTLOADER = (
    "The chip does not answer its bootloader on {port}. Put it in download mode: hold "
    "GPIO0 low (the FLASH/BOOT button; on an ESP-01 wire GPIO0 to GND) while you reset or "
    "power it, then try again. Also check the cable, the port, and that no other program "
    "uses it. The flash was not touched."
)


@dataclass
class ChipInfo:
    """What the ROM bootloader says about a chip and its flash."""

    chip: str
    description: str
    features: list[str]
    crystal_mhz: int | None
    mac: str
    chip_id: int | None
    flash: FlashChip
    flash_size: int | None  # detected, bytes

    def as_dict(self) -> dict[str, object]:
        return {
            "chip": self.chip,
            "description": self.description,
            "features": self.features,
            "crystal_mhz": self.crystal_mhz,
            "mac": self.mac,
            "chip_id": self.chip_id,
            "flash_id": f"0x{self.flash.raw:06X}",
            "flash_manufacturer": f"0x{self.flash.manufacturer:02X}",
            "flash_device": f"0x{self.flash.device:04X}",
            "flash_vendor": self.flash.vendor,
            "flash_part": self.flash.part,
            "flash_size": self.flash_size,
        }

    def lines(self) -> list[str]:
        size = human_size(self.flash_size) if self.flash_size else "unknown"
        return [
            f"Chip:          {self.description}",
            f"Features:      {', '.join(self.features)}",
            f"Crystal:       {self.crystal_mhz} MHz" if self.crystal_mhz else "Crystal: unknown",
            f"MAC:           {self.mac}",
            f"Chip id:       0x{self.chip_id:08X}" if self.chip_id is not None else "Chip id: -",
            f"Flash:         {self.flash.describe()}",
            f"Flash id:      0x{self.flash.raw:06X}",
            f"Detected size: {size} ({self.flash_size or 0:,} bytes)",
        ]


class Chip:
    """An open bootloader session with the stub flasher running."""

    def __init__(self, esp: esptool.ESPLoader, port: str) -> None:
        self.esp = esp
        self.port = port
        self._info: ChipInfo | None = None
        self.simulated = False  # the virtual board's simulated bootloader, not a real chip

    @property
    def name(self) -> str:
        return str(self.esp.CHIP_NAME)

    def info(self) -> ChipInfo:
        if self._info is None:
            with self.step("reading the chip's identity", "unchanged"):
                esp = self.esp
                chip_id: int | None
                try:
                    chip_id = int(esp.chip_id())
                except (FatalError, NotImplementedError, AttributeError):
                    chip_id = None
                try:
                    crystal = int(esp.get_crystal_freq())
                except (FatalError, NotImplementedError):
                    crystal = None
                size_text = esptool.detect_flash_size(esp)
                size = esptool.util.flash_size_bytes(size_text) if size_text else None
                self._info = ChipInfo(
                    chip=self.name,
                    description=str(esp.get_chip_description()),
                    features=list(esp.get_chip_features()),
                    crystal_mhz=crystal,
                    mac=":".join(f"{b:02x}" for b in esp.read_mac("BASE_MAC")),
                    chip_id=chip_id,
                    flash=FlashChip(int(esp.flash_id())),
                    flash_size=size,
                )
        return self._info

    @contextmanager
    def step(self, doing: str, state: str) -> Iterator[None]:
        """Turn a failure while `doing` into one line that says the flash's `state`."""
        try:
            yield
        except FlashError:
            raise
        except FatalError as exc:
            if "igest mismatch" in str(exc) or "MD5 of file does not match" in str(exc):
                raise FlashError(
                    f"The data does not match the chip's MD5 while {doing}: the link is "
                    f"unreliable (try --baud 115200 or another cable). The flash is {state}."
                ) from None
            raise self._lost(doing, state, exc) from None
        except (serial.SerialException, OSError, struct.error) as exc:
            raise self._lost(doing, state, exc) from None

    @staticmethod
    def _lost(doing: str, state: str, exc: BaseException) -> FlashError:
        return FlashError(
            f"The chip stopped answering while {doing} ({_short(exc)}): "
            f"the flash is {state}. Check the cable and try again."
        )

    def read(self, size: int, progress: ProgressSink | None = None) -> bytes:
        """Read flash from 0; esptool checks the data against the stub's MD5 of the range."""
        with self.step("reading the flash", "unchanged"), _progress(progress):
            data = esptool.read_flash(self.esp, 0, size)
        assert data is not None
        return data

    def write(
        self,
        addr: int,
        data: bytes,
        flash_mode: str = "keep",
        flash_size: str = "keep",
        erase_all: bool = False,
        progress: ProgressSink | None = None,
    ) -> None:
        """Write compressed; esptool then compares the chip's MD5 of the range with the data."""
        state = "partly written: the board will not boot until a write completes"
        with self.step("writing the flash", state), _progress(progress):
            esptool.write_flash(
                self.esp,
                [(addr, data)],
                flash_mode=flash_mode,
                flash_size=flash_size,
                erase_all=erase_all,
                compress=True,
            )

    def erase(self) -> None:
        with self.step("erasing the flash", "partly erased: the board will not boot"):
            esptool.erase_flash(self.esp)

    def reset(self, after: str) -> None:
        with self.step("resetting the chip", "written and verified"):
            esptool.reset_chip(self.esp, after)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__


@contextmanager
def _progress(sink: ProgressSink | None) -> Iterator[None]:
    LOG.on_progress = sink
    try:
        yield
    finally:
        LOG.on_progress = None


@contextmanager
def open_chip(
    port: str,
    before: str = "auto",
    baud: int = FAST_BAUD,
    lines: Lines | None = None,
    attempts: int = 7,
) -> Iterator[Chip]:
    """Connect to the ROM bootloader on `port`, start the stub, attach the flash.

    `before`: "default-reset" (DTR/RTS), "no-reset" (the user holds GPIO0 low), or
    "auto" (DTR/RTS where the port has them). The port is closed on leaving.
    """
    LOG.lines = lines
    if before == "no-reset":  # chosen by the user: give them time to press the buttons
        attempts = max(attempts, 20)
    if before == "auto":
        before = "default-reset" if has_reset_lines(port) else "no-reset"
    if before.startswith("no-reset") and lines is not None:
        lines(
            f"{port} cannot reset the chip by itself: if it is not in download mode yet, "
            "hold GPIO0 low and press reset now.\n"
        )
    _check_port(port)
    link = None
    if port == LINK and lines is not None:
        LOG.lines = _without_link_noise(lines)
    try:
        try:
            if port == LINK:  # the page's port: esptool gets a port object over the link
                link, target, before = _link_port(before)
            else:
                target = port
            rom = esptool.detect_chip(target, ROM_BAUD, before, connect_attempts=attempts)
        except serial.SerialException as exc:
            if "Serial data stream stopped" in str(exc) or "timed out" in str(exc):
                raise FlashError(NOT_IN_BOOTLOADER.format(port=_named(port))) from None
            raise _open_error(port, exc) from None
        except OSError as exc:
            raise _open_error(port, exc) from None
        except FatalError as exc:
            if "connect" in str(exc).lower() or "serial data" in str(exc).lower():
                raise FlashError(NOT_IN_BOOTLOADER.format(port=_named(port))) from None
            raise FlashError(f"esptool could not talk to {port}: {_short(exc)}") from None
        try:
            chip = Chip(rom, port)
            with chip.step("starting the flasher stub", "unchanged"):
                chip.esp = esptool.run_stub(rom)
                esptool.attach_flash(chip.esp)
                if baud != ROM_BAUD:
                    chip.esp.change_baud(baud)
            yield chip
        finally:
            with suppress(Exception):  # closing a broken port must not hide the real error
                rom._port.close()
    finally:
        LOG.lines = None
        if link is not None:
            link.release()  # the page keeps the port for the kernel's next connect


def _named(port: str) -> str:
    return "the board on your computer (browser link)" if port == LINK else port


#: esptool's notes that are wrong for the page's port: we reset through the link ourselves,
#: and the port has no device path (its USB ids are in the page's hello).
_LINK_NOISE = ('Note: Pre-connection option "no-reset"', "Note: Failed to get VID/PID")


def _without_link_noise(lines: Lines) -> Lines:
    def filtered(text: str) -> None:
        if not text.startswith(_LINK_NOISE):
            lines(text)

    return filtered


def _link_port(before: str) -> tuple[Any, Any, str]:
    """(link, port object, esptool's reset mode) for the page's port. The reset into the
    bootloader is done here, through the link's DTR/RTS (both lines set at once, as the
    page's setSignals does); esptool then connects without a reset of its own."""
    from ..board.links.browser_serial import BrowserSerialTransport
    from ..board.links.transport import TransportError
    from .link_port import LinkPort, bootloader_reset

    try:
        link = BrowserSerialTransport.for_this_kernel(ROM_BAUD)
    except TransportError as exc:
        raise FlashError(str(exc)) from None
    try:
        if before != "no-reset":
            bootloader_reset(link)
        return link, LinkPort(link, ROM_BAUD), "no-reset"
    except TransportError as exc:
        link.release()
        raise FlashError(str(exc)) from None


def wait_for_micropython(port: str, timeout: float = 8.0) -> str | None:
    """After a reset into new firmware: the MicroPython banner's version line, or None."""
    end = time.monotonic() + timeout
    nudge = time.monotonic() + timeout / 2
    seen = bytearray()
    if port == LINK:
        return None  # the kernel reconnects through the link and says what answers
    try:
        with serial.Serial(port, ROM_BAUD, timeout=0.2, exclusive=True) as ser:
            ser.write(b"\r\x02")  # Ctrl-B: the friendly REPL prints its banner
            while time.monotonic() < end:
                seen += ser.read(256)
                lines = seen.decode("utf-8", "replace").replace("\r", "\n").split("\n")
                banner = [line for line in lines if line.startswith("MicroPython ")]
                if banner and b">>>" in seen:
                    return banner[-1].strip()
                if nudge and time.monotonic() > nudge:
                    nudge = 0.0
                    ser.write(b"\r\x02")
    except (serial.SerialException, OSError):
        return None
    return None
