"""Chip magics through esptool: %chipinfo %backup %restore %erase %flash."""

from __future__ import annotations

import argparse
import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..board.ports import find_boards
from ..flash import mock
from ..flash.backups import backups_of, read_backup, sidecar_path, write_backup
from ..flash.esp import FAST_BAUD, Chip, FlashError, has_reset_lines, open_chip
from ..flash.esp import wait_for_micropython as wait_banner
from ..flash.identity import human_size, parse_size
from ..flash.image import ImageError, check_image, check_magic
from ..widgets.progress import Progress
from .registry import MagicError, arg, magic

if TYPE_CHECKING:
    from ..kernel import MicroPythonKernel

RESETS = ["auto", "default-reset", "no-reset"]
AFTER = ["auto", "hard-reset", "no-reset"]


class Skipped(Exception):
    """Nothing to do here (the virtual board, no simulator): said, not an error."""


@dataclass
class Link:
    """Where and how to reach the bootloader."""

    port: str | None = None
    baud: int = FAST_BAUD
    before: str = "auto"


def _port_for(kernel: MicroPythonKernel, port: str | None) -> tuple[str, bool]:
    """(port, simulated): the port named, the connected board's, or the one board found.

    "mock", or no port while the virtual board (or nothing) is there, is the simulator.
    """
    board = kernel.board
    if port is None:
        if board is None:
            found = find_boards()
            if len(found) > 1:
                names = ", ".join(p.device for p in found)
                raise MagicError(f"Several boards found ({names}): choose one with --port PORT.")
            if found:
                return found[0].device, False
            port = "mock"
        elif board.kind == "serial":
            return board.name, False
        elif board.kind == "virtual":
            port = "mock"
        else:
            raise MagicError(
                f"The board is connected over {board.kind}: esptool needs its USB serial port "
                "(--port PORT)."
            )
    if port != "mock":
        return port, False
    if not mock.available():
        raise Skipped(
            "Skipped: the virtual board has no ESP chip, and the simulated bootloader "
            "(esp32-mock-bootloader, part of the lab and test extras) is not installed. "
            "Give --port PORT for a real board."
        )
    try:
        return mock.port(), True
    except RuntimeError as exc:
        raise MagicError(f"Cannot start {exc}.") from None


@contextlib.contextmanager
def chip_session(kernel: MicroPythonKernel, link: Link) -> Iterator[Chip]:
    """Release the kernel's hold on the port, open the bootloader, and give it back after.

    A FlashError inside the block (or while opening) reaches the user as a MagicError.
    """
    port, simulated = _port_for(kernel, link.port)
    if simulated:
        kernel.say(
            "[simulated] The virtual board has no chip to flash: using a simulated ESP8266 "
            "bootloader (esp32-mock-bootloader, 4 MB flash in memory).\n"
        )
    board = kernel.board
    ours = board is not None and board.kind == "serial" and board.name == port
    release = kernel.released_port() if ours else contextlib.nullcontext()
    with release:
        try:
            with open_chip(port, link.before, link.baud, lines=kernel.log.info) as chip:
                yield chip
        except FlashError as exc:
            raise MagicError(str(exc)) from None


def _link(args: argparse.Namespace) -> Link:
    return Link(getattr(args, "port", None), args.baud, args.before)


def _common(func):  # type: ignore[no-untyped-def]
    """The options every chip magic takes."""
    func = arg("--before", choices=RESETS, default="auto", help="how to enter the bootloader")(func)
    return arg("--baud", type=int, default=FAST_BAUD, help="baud rate after the stub starts")(func)


def _skippable(func):  # type: ignore[no-untyped-def]
    @functools.wraps(func)
    def run(kernel: MicroPythonKernel, *rest: object) -> object:
        try:
            return func(kernel, *rest)
        except Skipped as exc:
            kernel.say(str(exc) + "\n")
            return None

    return run


@magic("chipinfo")
@arg("port", nargs="?", help="serial port of the board (default: the connected board's)")
@_common
@_skippable
def chipinfo_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Chip type, features, MAC and the flash chip (maker, part, size) from the bootloader."""
    with chip_session(kernel, _link(args)) as chip:
        info = chip.info()
    kernel.say("\n".join(info.lines()) + "\n")


@magic("backup")
@arg("file", help="where to save the image (a FILE.json sidecar goes next to it)")
@arg("--port", help="serial port (default: the connected board's)")
@arg("--size", help="bytes to read, e.g. 1MB (default: the whole flash)")
@arg("--force", action="store_true", help="overwrite an existing FILE")
@_common
@_skippable
def backup_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Read the whole flash into FILE, verified by the chip's MD5, with a JSON sidecar."""
    image = Path(args.file).expanduser()
    if image.exists() and not args.force:
        raise MagicError(f"{image} exists: choose another name, or --force to overwrite it.")
    size = _size(args.size)
    with chip_session(kernel, _link(args)) as chip:
        info = chip.info()
        size = size or info.flash_size or info.flash.size
        if not size:
            raise MagicError("The flash size is unknown: give --size (e.g. --size 4MB).")
        bar = Progress(f"backup {image.name}", size)
        try:
            data = chip.read(size, bar.update)
        except FlashError:
            bar.finish(f"backup {image.name}: failed", ok=False)
            raise
        bar.done = len(data)
    try:
        record = write_backup(image, data, info)
    except FlashError as exc:
        raise MagicError(str(exc)) from None
    bar.finish()
    kernel.say(
        f"Saved {image} ({human_size(size)} of {info.description}, MAC {info.mac}), "
        f"verified against the chip's MD5; SHA-256 {str(record['sha256'])[:16]}...; "
        f"details in {sidecar_path(image).name}.\n"
    )


@magic("restore")
@arg("file", help="a backup written by %backup (with its FILE.json)")
@arg("--port", help="serial port (default: the connected board's)")
@arg("--force", action="store_true", help="write even if chip or flash size differ")
@arg("--after", choices=AFTER, default="auto", help="reset after writing")
@_common
@_skippable
def restore_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Write a backup back to the flash (checked against its sidecar first), then verify."""
    image = Path(args.file).expanduser()
    try:
        data, record = read_backup(image)
    except FlashError as exc:
        raise MagicError(str(exc)) from None
    with chip_session(kernel, _link(args)) as chip:
        info = chip.info()
        theirs = (record.get("chip"), record.get("flash_size"))
        if theirs != (info.chip, info.flash_size) and not args.force:
            raise MagicError(
                f"{image.name} is from an {theirs[0]} with {_size_text(theirs[1])} flash; this "
                f"board is an {info.chip} with {_size_text(info.flash_size)}. Nothing was "
                "written (--force writes anyway)."
            )
        if record.get("mac") != info.mac:
            kernel.say(
                f"Note: {image.name} was read from another chip (MAC {record.get('mac')}).\n"
            )
        _write(kernel, chip, 0, data, f"restore {image.name}")
        _after(kernel, chip, args.after, wait=False)
    kernel.say(f"Restored {image.name} ({len(data):,} bytes) and verified it.\n")


@magic("erase")
@arg("--port", help="serial port (default: the connected board's)")
@arg("--yes", action="store_true", help="do not ask (for headless runs)")
@_common
@_skippable
def erase_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Erase the whole flash (MicroPython and your files are gone); asks first."""
    link = _link(args)
    with chip_session(kernel, link) as chip:
        info = chip.info()
        if not backups_of(info, Path.cwd()):
            kernel.say(
                f"No backup of this chip (MAC {info.mac}) in this folder: run %backup FILE "
                "first if you may want its contents back.\n"
            )
        if args.yes:
            erase_now(kernel, chip)
            return
    from ..widgets.flash import ConfirmErase

    ConfirmErase(kernel, link, info.description).show()


def erase_now(kernel: MicroPythonKernel, chip: Chip) -> None:
    """Erase, saying so before and after."""
    kernel.say("Erasing the flash (this takes up to a minute on a real chip)...\n")
    chip.erase()
    kernel.say(
        "Flash erased: the board runs nothing now. Next: %flash FIRMWARE.bin "
        "(or %restore a backup).\n"
    )


@magic("flash")
@arg("firmware", nargs="?", help="the firmware .bin (none: open the flashing panel)")
@arg("--port", help="serial port (default: the connected board's)")
@arg("--addr", default="0x0", help="flash address (default 0x0)")
@arg(
    "--flash-mode",
    choices=["keep", "qio", "qout", "dio", "dout"],
    default="keep",
    help="mode written into the image header (keep: as built; dio or dout if it won't boot)",
)
@arg("--flash-size", default="detect", help="detect, keep, or a size such as 4MB")
@arg("--erase", action="store_true", help="erase the whole flash first")
@arg("--after", choices=AFTER, default="auto", help="reset after writing")
@arg("--no-wait", action="store_true", help="do not wait for MicroPython to start")
@_common
@_skippable
def flash_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Write MicroPython (or any ESP image) to the board, verified, then wait for it to start.

    The file is checked before the board is touched: an ESP image (first byte 0xE9) for
    the detected chip that fits its flash. Without a FIRMWARE, a panel asks for the options.
    """
    if args.firmware is None:
        from ..widgets.flash import FlashPanel

        FlashPanel(kernel).show()
        return
    flash_file(kernel, Path(args.firmware).expanduser(), args)


def flash_file(kernel: MicroPythonKernel, path: Path, args: argparse.Namespace) -> None:
    """What %flash FIRMWARE does (the panel calls it too)."""
    try:
        data = path.read_bytes()
        addr = int(str(args.addr), 0)
    except OSError as exc:
        raise MagicError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except ValueError:
        raise MagicError(f"--addr {args.addr} is not a number (e.g. 0x0 or 0x1000).") from None
    if addr == 0:  # what can be checked before the board is touched
        try:
            check_magic(data)
        except ImageError as exc:
            raise MagicError(f"{path.name}: {exc}") from None
    size_opt = args.flash_size
    if size_opt not in ("detect", "keep"):
        size_opt = human_size(_size(size_opt) or 0)
    with chip_session(kernel, _link(args)) as chip:
        info = chip.info()
        try:
            summary = check_image(data, info.chip, info.flash_size, addr)
        except ImageError as exc:
            raise MagicError(f"{path.name}: {exc} The flash was not touched.") from None
        board = f"{info.description}, {_size_text(info.flash_size)} flash"
        kernel.say(f"{path.name}: {summary}. Board: {board}.\n")
        if args.erase:
            erase_now(kernel, chip)
        _write(kernel, chip, addr, data, f"flash {path.name}", args.flash_mode, size_opt)
        _after(kernel, chip, args.after, wait=not args.no_wait)


def _write(
    kernel: MicroPythonKernel,
    chip: Chip,
    addr: int,
    data: bytes,
    label: str,
    flash_mode: str = "keep",
    flash_size: str = "keep",
) -> None:
    bar = Progress(label, len(data))
    try:
        chip.write(addr, data, flash_mode, flash_size, progress=bar.update)
    except FlashError:
        bar.finish(f"{label}: failed", ok=False)
        raise
    bar.done = len(data)
    kernel.say(bar.finish() + ", verified (MD5 on the chip)\n")


def _after(kernel: MicroPythonKernel, chip: Chip, after: str, wait: bool) -> None:
    if after == "auto":
        after = "hard-reset" if has_reset_lines(chip.port) else "no-reset"
    chip.reset(after)
    if after != "hard-reset":
        kernel.say(
            "The chip stays in its bootloader: release GPIO0 and press reset (or power-cycle) "
            "to start the new firmware.\n"
        )
        return
    if not wait:
        return
    chip.esp._port.close()
    banner = wait_banner(chip.port)
    if banner:
        kernel.say(f"MicroPython started: {banner}\n")
    else:
        kernel.say(
            "No MicroPython banner within 8 s: if the board does not boot, flash again with "
            "--flash-mode dio (dout for ESP-01S) and check the image is for this board.\n",
            "stderr",
        )


def _size(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return parse_size(text)
    except ValueError:
        raise MagicError(f"{text!r} is not a size: write e.g. 4MB, 512KB or 0x100000.") from None


def _size_text(size: object) -> str:
    return human_size(size) if isinstance(size, int) and size else "unknown"
