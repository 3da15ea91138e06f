"""Connection magics: %connect, %disconnect, %ports, %reset."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from IPython.display import display

from .. import provenance
from ..board.ports import find_boards, format_ports, list_serial_ports
from ..board.session import Board, BoardError
from ..board.webrepl import is_webrepl_url
from ..secrets import ask_secret
from .registry import MagicError, arg, magic

if TYPE_CHECKING:
    from ..kernel import MicroPythonKernel

VIRTUAL = "virtual"


def pick_default_target() -> str:
    """MPKERNEL_PORT, else the single board found, else the virtual board."""
    env = os.environ.get("MPKERNEL_PORT", "").strip()
    if env:
        return env
    boards = find_boards()
    if len(boards) == 1:
        return boards[0].device
    if len(boards) > 1:
        raise MagicError(
            "Several boards found: "
            + ", ".join(f"{p.device} ({p.known_as})" for p in boards)
            + ". Choose one with %connect PORT."
        )
    return VIRTUAL


def describe(board: Board, firmware: str) -> str:
    """One line naming the firmware and the link."""
    if board.kind == VIRTUAL:
        link = "the virtual board (MicroPython's unix port on this computer)"
    elif board.kind == "webrepl":
        link = f"WebREPL at {board.name}"
    else:
        link = f"{board.name} at {getattr(board.transport, 'baudrate', '?')} baud"
    return f"Connected to {firmware} via {link}."


def announce(kernel: MicroPythonKernel, board: Board) -> None:
    """Tell the user what they are connected to, and record its provenance in the notebook."""
    for notice in board.notices:
        kernel.say(notice + "\n")
    rec = provenance.record(board)
    kernel.shell.user_ns["_provenance"] = rec  # for %%host cells that save results with it
    kernel.say(describe(board, rec["firmware"]) + "\n")
    display(provenance.bundle(rec), raw=True)  # the record stays in the saved notebook


def connect(
    kernel: MicroPythonKernel,
    target: str,
    baudrate: int = 115200,
    root: str | None = None,
    quiet: bool = False,
    password_from_env: str | None = None,
) -> Board:
    """Open a board, replacing any current connection, and (unless quiet) announce it.

    A ws:// target is a WebREPL: its password comes from `ask_secret` (hidden prompt, or
    $MPKERNEL_WEBREPL_PASSWORD where no prompt can be shown, as at kernel start).
    """
    password = None
    if is_webrepl_url(target):
        password = ask_secret(
            kernel,
            "WebREPL password: ",
            from_env=password_from_env,
            default_env="MPKERNEL_WEBREPL_PASSWORD",
        )
    kernel.disconnect()
    try:
        board = Board.open(target, baudrate=baudrate, root=root, password=password)
    except BoardError as exc:
        raise MagicError(str(exc)) from None
    kernel.board = board
    if not quiet:
        announce(kernel, board)
    return board


@magic("connect")
@arg(
    "port",
    nargs="?",
    help="a device (/dev/ttyUSB0, COM3), a pyserial URL, ws://HOST[:PORT] or 'virtual'",
)
@arg("--baud", type=int, default=115200, help="baud rate (default 115200)")
@arg("--root", help="virtual board only: the folder that is its filesystem")
@arg("--password-from-env", metavar="VAR", help="WebREPL only: take the password from $VAR")
def connect_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Connect to a board: serial port, pyserial URL, ws://HOST[:PORT] (WebREPL) or 'virtual'.

    With no PORT: uses MPKERNEL_PORT if set, else the one board found by its USB id,
    else the built-in virtual board. Connecting never resets the board.
    ws://HOST[:PORT] (port 8266 by default) asks for the WebREPL password in a hidden prompt
    (or reads it from $MPKERNEL_WEBREPL_PASSWORD when no prompt can be shown, or from
    --password-from-env VAR); the password is never shown or saved.
    """
    target = args.port
    if target is None:
        boards = find_boards()
        if len(boards) > 1:
            raise MagicError(
                "Several boards found, choose one with %connect PORT:\n" + format_ports(boards)
            )
        target = boards[0].device if boards else VIRTUAL
        if not boards:
            kernel.say("No board found by USB id (see %ports): connecting to the virtual board.\n")
    connect(kernel, target, args.baud, args.root, password_from_env=args.password_from_env)


@magic("disconnect")
def disconnect_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Release the board's port (the board is left in its normal REPL)."""
    if kernel.board is None:
        kernel.say("Not connected.\n")
        return
    name = kernel.board.name
    kernel.disconnect()
    kernel.say(f"Disconnected from {name}.\n")


@magic("ports")
def ports_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """List serial ports with their USB VID:PID; known MicroPython boards are marked."""
    kernel.say(format_ports(list_serial_ports()) + "\n")


@magic("reset")
@arg("--hard", action="store_true", help="reset the chip (as the reset button does)")
def reset_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Soft-reset the board (variables are gone, boot.py runs); --hard resets the chip."""
    board = kernel.require_board()
    try:
        if args.hard:
            kernel.say(board.hard_reset())
            kernel.say("Hard reset done: the board restarted (boot.py and main.py ran).\n")
        else:
            boot = board.soft_reset()
            if boot.strip():
                kernel.say(boot if boot.endswith("\n") else boot + "\n")
            kernel.say("Soft reset done: the board's variables are gone (boot.py ran).\n")
    except BoardError as exc:
        raise MagicError(str(exc)) from None
