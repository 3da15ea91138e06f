"""Connection magics: %connect, %disconnect, %ports, %reset (services.connection)."""

from __future__ import annotations

import argparse
import functools
import json
from typing import TYPE_CHECKING

from IPython.display import display

from ..services import provenance
from ..services.connection import describe, format_ports, is_webrepl_url, list_serial_ports
from ..services.secrets import webrepl_password
from .registry import arg, magic

if TYPE_CHECKING:
    from ..services.connection import Board
    from ..services.context import Context


def announce(kernel: Context, board: Board) -> None:
    """Tell the user what they are connected to, and record its provenance in the notebook."""
    for notice in board.take_notices():
        kernel.say(notice + "\n")
    with kernel.board_lock:  # the idle reader must not take the helpers' output meanwhile
        rec = provenance.record(board)
    kernel.host.user_ns["_provenance"] = rec  # for %%host cells that save results with it
    kernel.say(describe(board, rec["firmware"]) + "\n")
    display(provenance.bundle(rec), raw=True)  # the record stays in the saved notebook


@magic("connect")
@arg(
    "port",
    nargs="?",
    help="a device (/dev/ttyUSB0, COM3), a pyserial URL, ws://HOST[:PORT], 'virtual', or "
    "'browser' (the board the page opened on your computer)",
)
@arg("--baud", type=int, default=115200, help="baud rate (default 115200)")
@arg("--root", help="virtual board only: the folder that is its filesystem")
@arg("--password-from-env", metavar="VAR", help="WebREPL only: take the password from $VAR")
def connect_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Connect to a board: serial port, pyserial URL, ws://HOST[:PORT] (WebREPL) or 'virtual'.

    With no PORT: uses MPKERNEL_PORT if set (and fails if that board does not answer),
    else the board a page holds for this kernel (the board panel's "Connect a board on this
    computer"), else the one board found by its USB id, else the built-in virtual board
    (and says so).
    Connecting never resets the board.
    ws://HOST[:PORT] (port 8266 by default), once the WebREPL answers, asks for its password
    in a hidden prompt (or reads it from $MPKERNEL_WEBREPL_PASSWORD when no prompt can be
    shown, or from --password-from-env VAR); the password is never shown or saved.
    """
    password = None
    if args.port and is_webrepl_url(args.port):
        # asked once the WebREPL answers, not before
        password = functools.partial(webrepl_password, kernel.getpass, args.password_from_env)
    board = kernel.connection.connect(args.port, args.baud, args.root, password)
    announce(kernel, board)


@magic("disconnect")
def disconnect_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Release the board's port (the board is left in its normal REPL)."""
    if kernel.board is None:
        kernel.say("Not connected.\n")
        return
    name = kernel.board.name
    kernel.disconnect()
    kernel.say(f"Disconnected from {name}.\n")


@magic("ports")
@arg(
    "--json",
    dest="as_json",
    action="store_true",
    help="the list as JSON (application/json output) for scripts: device, vid, pid, "
    "usb_id, description, board (the recognised chip or board, else null)",
)
def ports_magic(kernel: Context, args: argparse.Namespace) -> None:
    """List serial ports with their USB VID:PID; known MicroPython boards are marked."""
    ports = list_serial_ports()
    if args.as_json:
        data = [port.as_dict() for port in ports]
        text = json.dumps(data, indent=2)
        display({"application/json": data, "text/plain": text}, raw=True)
        return
    kernel.say(format_ports(ports) + "\n")


@magic("reset")
@arg("--hard", action="store_true", help="reset the chip (as the reset button does)")
def reset_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Soft-reset the board (variables are gone, boot.py runs); --hard resets the chip."""
    text = kernel.connection.reset(hard=args.hard)
    board = kernel.connection.board
    for notice in board.take_notices() if board is not None else []:
        kernel.say(notice + "\n", "stderr")
    if args.hard:
        kernel.say(text)
        kernel.say("Hard reset done: the board restarted (boot.py and main.py ran).\n")
    else:
        if text.strip():
            kernel.say(text if text.endswith("\n") else text + "\n")
        kernel.say("Soft reset done: the board's variables are gone (boot.py ran).\n")
