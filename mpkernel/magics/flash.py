"""Chip magics through esptool: %chipinfo %backup %restore %erase %flash (services.flashing)."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..services import flashing
from ..services.flashing import (
    AFTER,
    FAST_BAUD,
    RESETS,
    ChipLink,
    FlashOptions,
    Skipped,
    human_size,
    sidecar_path,
)
from ..widgets.flash import ConfirmErase, FlashPanel, report_to
from .registry import arg, magic

if TYPE_CHECKING:
    from ..services.context import Context


def _link(args: argparse.Namespace) -> ChipLink:
    return ChipLink(getattr(args, "port", None), args.baud, args.before)


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every chip magic takes."""
    func = arg("--before", choices=RESETS, default="auto", help="how to enter the bootloader")(func)
    return arg("--baud", type=int, default=FAST_BAUD, help="baud rate after the stub starts")(func)


def _skippable(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def run(kernel: Context, *rest: object) -> object:
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
def chipinfo_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Chip type, features, MAC and the flash chip (maker, part, size) from the bootloader."""
    info = flashing.chip_info(kernel.connection, _link(args), report_to(kernel))
    kernel.say("\n".join(info.lines()) + "\n")


@magic("backup")
@arg("file", help="where to save the image (a FILE.json sidecar goes next to it)")
@arg("--port", help="serial port (default: the connected board's)")
@arg("--size", help="bytes to read, e.g. 1MB (default: the whole flash)")
@arg("--force", action="store_true", help="overwrite an existing FILE")
@_common
@_skippable
def backup_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Read the whole flash into FILE, verified by the chip's MD5, with a JSON sidecar."""
    image = Path(args.file).expanduser()
    info, size, record = flashing.backup(
        kernel.connection, image, _link(args), report_to(kernel), args.size, args.force
    )
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
def restore_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Write a backup back to the flash (checked against its sidecar first), then verify."""
    image = Path(args.file).expanduser()
    size = flashing.restore(
        kernel.connection, image, _link(args), report_to(kernel), args.force, args.after
    )
    kernel.say(f"Restored {image.name} ({size:,} bytes) and verified it.\n")


@magic("erase")
@arg("--port", help="serial port (default: the connected board's)")
@arg("--yes", action="store_true", help="do not ask (for headless runs)")
@_common
@_skippable
def erase_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Erase the whole flash (MicroPython and your files are gone); asks first."""
    link = _link(args)
    report = report_to(kernel)
    with flashing.chip_session(kernel.connection, link, report) as chip:
        info = chip.info()
        flashing.warn_without_backup(info, report)
        if args.yes:
            flashing.erase_now(chip, report)
            return
    ConfirmErase(kernel, link, info.description).show()


@magic("flash")
@arg(
    "files",
    nargs="*",
    metavar="FILE | ADDRESS FILE ...",
    help="the firmware .bin, or ADDRESS FILE pairs as esptool's write_flash takes them "
    "(none: open the flashing panel)",
)
@arg("--port", help="serial port (default: the connected board's)")
@arg("--address", "--addr", dest="address", help="where FILE goes (default 0x0)")
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
def flash_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Write MicroPython (or any ESP image) to the board, verified, then wait for it to start.

    Each file is read with esptool's image parser for the detected chip before the board
    is touched (segments, checksum, SHA-256 where appended) and must belong where it goes:
    a whole-flash ESP8266 image at 0x0, an SDK OTA app (0xEA) at 0x1000, an ESP32-family
    bootloader at the chip's boot offset, a partition table, an app in an app partition.
    Several files: %flash 0x1000 bootloader.bin 0x8000 partitions.bin 0x10000 app.bin.
    Without a FILE, a panel asks for the options.
    """
    if not args.files:
        FlashPanel(kernel).show()
        return
    options = FlashOptions(
        firmware=None,
        images=_pairs(args.files, args.address),
        link=_link(args),
        flash_mode=args.flash_mode,
        flash_size=args.flash_size,
        erase=args.erase,
        after=args.after,
        wait=not args.no_wait,
    )
    flashing.flash(kernel.connection, options, report_to(kernel))


PAIRS = "%flash FILE [--address 0x1000], or %flash 0x1000 boot.bin 0x8000 partitions.bin ..."


def _pairs(items: list[str], address: str | None) -> list[tuple[int, Path]]:
    """(address, file) for one FILE (at --address) or for ADDRESS FILE pairs."""
    if len(items) == 1:
        return [(flashing.parse_address(address or "0x0"), Path(items[0]).expanduser())]
    if address is not None:
        raise UsageError(f"--address goes with one FILE; for several, write pairs: {PAIRS}.")
    if len(items) % 2:
        raise UsageError(f"Write ADDRESS FILE pairs, or one FILE: {PAIRS}.")
    pairs = zip(items[::2], items[1::2], strict=True)
    return [(flashing.parse_address(a), Path(f).expanduser()) for a, f in pairs]
