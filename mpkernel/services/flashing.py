"""The chip through esptool, for every surface: info, backup, restore, erase, flash.

Options are data (`ChipLink`, `FlashOptions`); what to show goes to a `Report` (messages
and progress bars), so a magic, a widget and the extension present the same steps. The
kernel's own hold on the serial port is released for esptool and taken back after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import OperationError, UsageError
from ..flash import mock
from ..flash.backups import backups_of, read_backup, write_backup
from ..flash.backups import sidecar_path as sidecar_path  # for the surfaces
from ..flash.esp import (
    FAST_BAUD,
    LINK,
    Chip,
    ChipInfo,
    FlashError,
    has_reset_lines,
    open_chip,
)
from ..flash.esp import wait_for_micropython as wait_banner
from ..flash.identity import human_size, parse_size
from ..flash.image import ImageError, Region, check_erase_all, check_regions, precheck
from ..flash.log import WholeLines
from .connection import VIRTUAL, Connection, choose_port

RESETS = ["auto", "default-reset", "no-reset"]
AFTER = ["auto", "hard-reset", "no-reset"]
MOCK = "mock"  # the port name of the simulated bootloader
_told = {"simulated": False}  # the full notice is given once per kernel


class Skipped(OperationError):
    """Nothing to do here (the virtual board, no simulator): said, not an error."""


class Bar(Protocol):
    """A progress display (widgets.progress.Progress is one)."""

    done: int

    def update(self, done: int, total: int | None = None) -> None: ...

    def finish(self, summary: str | None = None, ok: bool = True) -> str: ...


@dataclass
class Report:
    """Where a chip operation's messages and progress go."""

    say: Callable[..., None]  # say(text, error=False)
    progress: Callable[[str, int], Bar]
    log: Callable[[str], None] = lambda text: None  # esptool's own messages, line ends kept
    #: Lines for the kernel's log only: esptool's messages for the simulated bootloader (a
    #: real chip's instructions, "hold GPIO0 low and press reset", and the simulator's
    #: crystal warnings are no one's to act on).
    quiet: Callable[[str], None] = lambda line: None


@dataclass
class ChipLink:
    """Where and how to reach the bootloader (port None: the connected board's)."""

    port: str | None = None
    baud: int = FAST_BAUD
    before: str = "auto"


@dataclass
class FlashOptions:
    """What %flash does, as data (the panel and the extension fill it too).

    The files to write are `images`, (address, file) pairs as esptool's write_flash takes
    them, or `firmware` at `addr`: the one-file form of the same.
    """

    firmware: Path | None
    link: ChipLink
    addr: int = 0
    flash_mode: str = "keep"  # keep, qio, qout, dio, dout
    flash_size: str = "detect"  # detect, keep, or a size such as 4MB
    erase: bool = False
    after: str = "auto"
    wait: bool = True
    images: list[tuple[int, Path]] = field(default_factory=list)

    def files(self) -> list[tuple[int, Path]]:
        """Every (address, file) to write, in the order given."""
        if self.images and self.firmware is not None:
            raise UsageError("Give one firmware file or (address, file) pairs, not both.")
        if self.firmware is not None:
            return [(self.addr, self.firmware)]
        if not self.images:
            raise UsageError("Nothing to flash: give a firmware file.")
        return list(self.images)


def parse_address(text: str) -> int:
    """A flash address such as 0x0 or 0x1000."""
    try:
        value = int(str(text), 0)
    except ValueError:
        raise UsageError(f"{text} is not a flash address (e.g. 0x0 or 0x1000).") from None
    if value < 0:
        raise UsageError(f"{text} is not a flash address: it is negative.")
    return value


def parse_flash_size(text: str | None) -> int | None:
    """A size such as 4MB, 512KB or 0x100000 (None when not given)."""
    if not text:
        return None
    try:
        return parse_size(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a size: write e.g. 4MB, 512KB or 0x100000.") from None


def size_text(size: object) -> str:
    return human_size(size) if isinstance(size, int) and size else "unknown"


def chip_port(conn: Connection, port: str | None) -> tuple[str, bool]:
    """(port, simulated): the port named, the connected board's, the page's, or the one
    board found.

    "mock", or no port while a simulated board (or nothing) is there, is the simulator.
    """
    board = conn.board
    if port is None:
        if board is None and page_holds_port():  # a new board on the page: no MicroPython yet
            port = LINK
        elif board is None:
            port = choose_port(how="--port PORT")
            port = MOCK if port == VIRTUAL else port
        elif board.transport.tool_port:
            port = board.transport.tool_port
        elif board.transport.simulated:
            port = MOCK
        else:
            raise UsageError(
                f"The board is connected over {board.kind}: esptool needs its USB serial port "
                "(--port PORT)."
            )
    if port != MOCK:
        return port, False
    if not mock.available():
        raise Skipped(
            "Skipped: the virtual board has no ESP chip, and the simulated bootloader "
            "(esp32-mock-bootloader, a dependency of mpkernel) is not installed: pip install "
            "esp32-mock-bootloader, or give --port PORT for a real board."
        )
    try:
        return mock.port(), True
    except RuntimeError as exc:
        raise FlashError(f"Cannot start {exc}.") from None


def page_holds_port() -> bool:
    """Whether the page holds a port for this kernel (the browser link), connected or not."""
    from ..flash.link_port import page_holds_port as holds

    return holds()


@contextlib.contextmanager
def chip_session(conn: Connection, link: ChipLink, report: Report) -> Iterator[Chip]:
    """Release the kernel's hold on the port, open the bootloader, and give it back after."""
    port, simulated = chip_port(conn, link.port)
    lines = report.log
    if simulated:
        if not _told["simulated"]:
            _told["simulated"] = True
            report.say(
                "[simulated] The virtual board has no chip to flash: using a simulated ESP8266 "
                "bootloader (esp32-mock-bootloader, 4 MB flash in memory); esptool's messages "
                "for it go to the kernel's log.\n"
            )
        else:
            report.say("[simulated] ESP8266 bootloader (esp32-mock-bootloader).\n")
        lines = WholeLines(report.quiet, "esptool (simulated chip): ")
    board = conn.board
    ours = board is not None and board.transport.tool_port == port
    release = conn.released() if ours else contextlib.nullcontext()
    with release, open_chip(port, link.before, link.baud, lines=lines) as chip:
        chip.simulated = simulated
        yield chip


def chip_info(conn: Connection, link: ChipLink, report: Report) -> ChipInfo:
    """What the bootloader says about the chip and its flash."""
    with chip_session(conn, link, report) as chip:
        return chip.info()


def backup(
    conn: Connection, image: Path, link: ChipLink, report: Report, size: str | None = None,
    force: bool = False,
) -> tuple[ChipInfo, int, dict[str, object]]:  # fmt: skip
    """Read the flash into `image` (+ JSON sidecar): (chip, bytes read, sidecar record)."""
    if image.exists() and not force:
        raise UsageError(f"{image} exists: choose another name, or --force to overwrite it.")
    wanted = parse_flash_size(size)
    with chip_session(conn, link, report) as chip:
        info = chip.info()
        total = wanted or info.flash_size or info.flash.size
        if not total:
            raise UsageError("The flash size is unknown: give --size (e.g. --size 4MB).")
        bar = report.progress(f"backup {image.name}", total)
        try:
            data = chip.read(total, bar.update)
        except FlashError:
            bar.finish(f"backup {image.name}: failed", ok=False)
            raise
        bar.done = len(data)
    record = write_backup(image, data, info)
    bar.finish()
    return info, total, record


def restore(
    conn: Connection, image: Path, link: ChipLink, report: Report, force: bool = False,
    after: str = "auto",
) -> int:  # fmt: skip
    """Write a backup back (checked against its sidecar first), verified; bytes written."""
    data, record = read_backup(image)
    with chip_session(conn, link, report) as chip:
        info = chip.info()
        theirs = (record.get("chip"), record.get("flash_size"))
        if theirs != (info.chip, info.flash_size) and not force:
            raise UsageError(
                f"{image.name} is from an {theirs[0]} with {size_text(theirs[1])} flash; this "
                f"board is an {info.chip} with {size_text(info.flash_size)}. Nothing was "
                "written (--force writes anyway)."
            )
        if record.get("mac") != info.mac:
            report.say(
                f"Note: {image.name} was read from another chip (MAC {record.get('mac')}).\n"
            )
        write(chip, 0, data, f"restore {image.name}", report)
        finish(chip, after, False, report)
    return len(data)


def warn_without_backup(info: ChipInfo, report: Report) -> None:
    """Say so when this folder holds no backup of this chip."""
    if not backups_of(info, Path.cwd()):
        report.say(
            f"No backup of this chip (MAC {info.mac}) in this folder: run %backup FILE "
            "first if you may want its contents back.\n"
        )


def erase_now(chip: Chip, report: Report) -> None:
    """Erase the whole flash, saying so before and after."""
    report.say("Erasing the flash (this takes up to a minute on a real chip)...\n")
    chip.erase()
    report.say(
        "Flash erased: the board runs nothing now. Next: %flash FIRMWARE.bin "
        "(or %restore a backup).\n"
    )


def erase(conn: Connection, link: ChipLink, report: Report) -> None:
    """Erase the whole flash (MicroPython and the files are gone)."""
    with chip_session(conn, link, report) as chip:
        erase_now(chip, report)


def read_regions(files: list[tuple[int, Path]]) -> list[Region]:
    """Each (address, file) read, and refused here if it cannot be an image where it goes."""
    regions = []
    for addr, path in files:
        try:
            regions.append(Region(addr, path.read_bytes(), path.name))
        except OSError as exc:
            raise UsageError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:  # what can be refused before the board is touched
        for region in regions:
            precheck(region)
    except ImageError as exc:
        raise UsageError(str(exc)) from None
    return regions


def flash(conn: Connection, options: FlashOptions, report: Report) -> None:
    """Write each image, verified, then (unless told not to) wait for MicroPython to start.

    Every file is read with esptool's image parser for the detected chip before the board
    is touched (segments, checksum, SHA-256 where appended), and must belong where it goes
    and fit the flash; one refused file means nothing is written.
    """
    regions = read_regions(options.files())
    size_opt = options.flash_size
    if size_opt not in ("detect", "keep"):
        size_opt = human_size(parse_flash_size(size_opt) or 0)
    with chip_session(conn, options.link, report) as chip:
        info = chip.info()
        try:
            found = check_regions(regions, info.chip, info.flash_size)
            if options.erase:
                check_erase_all(regions, info.chip)
        except ImageError as exc:
            raise UsageError(f"{exc} The flash was not touched.") from None
        for item in found:
            report.say(item.line() + ".\n" + "".join(f"Note: {n}\n" for n in item.notes))
        report.say(f"Board: {info.description}, {size_text(info.flash_size)} flash.\n")
        if options.erase:
            erase_now(chip, report)
        for region in regions:
            label = f"flash {region.name}" + (f" at 0x{region.addr:X}" if region.addr else "")
            write(chip, region.addr, region.data, label, report, options.flash_mode, size_opt)
        finish(chip, options.after, options.wait, report)


def write(
    chip: Chip,
    addr: int,
    data: bytes,
    label: str,
    report: Report,
    flash_mode: str = "keep",
    flash_size: str = "keep",
) -> None:
    """Write and verify one image, with a progress bar."""
    bar = report.progress(label, len(data))
    try:
        chip.write(addr, data, flash_mode, flash_size, progress=bar.update)
    except FlashError:
        bar.finish(f"{label}: failed", ok=False)
        raise
    bar.done = len(data)
    report.say(bar.finish() + ", verified (MD5 on the chip)\n")


def finish(chip: Chip, after: str, wait: bool, report: Report) -> None:
    """Reset the chip as asked and, if waiting, report the MicroPython banner."""
    if after == "auto":
        after = "hard-reset" if has_reset_lines(chip.port) else "no-reset"
    chip.reset(after)
    if after == "hard-reset" and chip.port == LINK:
        return  # the kernel reconnects through the link and says whether MicroPython answers
    if after != "hard-reset" and chip.simulated:
        report.quiet(f"the simulated chip stays in its bootloader (--after {after})")
        return
    if after != "hard-reset":
        report.say(
            "The chip stays in its bootloader: release GPIO0 and press reset (or power-cycle) "
            "to start the new firmware.\n"
        )
        return
    if not wait:
        return
    chip.esp._port.close()
    banner = wait_banner(chip.port)
    if banner:
        report.say(f"MicroPython started: {banner}\n")
    else:
        report.say(
            "No MicroPython banner within 8 s: if the board does not boot, flash again with "
            "--flash-mode dio (dout for ESP-01S) and check the image is for this board.\n",
            error=True,
        )


def simulator_available() -> bool:
    """Whether the simulated ESP8266 bootloader (esp32-mock-bootloader) is installed."""
    return mock.available()
