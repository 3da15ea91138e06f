"""The kernel's one board connection: choosing a port, connecting, resets, lending the port.

Every surface (cells, magics, widgets, the extension's comm handlers) reaches the board
through one `Connection`, under its lock, so that two of them never talk to it at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from ..board.filesystem import BoardFiles
from ..board.links.browser_serial import page_holds_link
from ..board.links.ports import find_boards, format_ports
from ..board.links.ports import list_serial_ports as list_serial_ports  # for the surfaces
from ..board.links.transport import TransportError
from ..board.links.webrepl import is_webrepl_url
from ..board.session import Board
from ..board.session import BoardExecError as BoardExecError  # for the surfaces
from ..board.session import CellResult as CellResult  # for the surfaces
from ..board.virtual.board import VirtualBoard
from ..errors import BoardError, UsageError
from .idle_output import IdleOutput

VIRTUAL = "virtual"
BROWSER = "browser"


def port_from_env() -> str:
    """$MPKERNEL_PORT: the board a headless run (or a lab's set-up) asked for, or ""."""
    return os.environ.get("MPKERNEL_PORT", "").strip()


def choose_port(port: str | None = None, how: str = "%connect PORT") -> str:
    """The board to use: `port` if given, else $MPKERNEL_PORT, else the board a page holds
    for this kernel ("browser": the user lent it with the board panel's button), else the
    one board found by USB id, else the virtual board. Several boards found is a UsageError
    that says to choose one with `how`."""
    if port:
        return port
    env = port_from_env()
    if env:
        return env
    if page_holds_link():
        return BROWSER
    boards = find_boards()
    if len(boards) > 1:
        raise UsageError(f"Several boards found, choose one with {how}:\n" + format_ports(boards))
    return boards[0].device if boards else VIRTUAL


def _may_share_repl(board: Board, target: str) -> bool:
    """Whether `target` may reach the REPL that `board` holds: the same port, or a WebREPL on
    either side (a board's WebREPL and its cable share one REPL, and it takes one client)."""
    # Link-kind branch 2 of 3: a WebREPL takes one client and shares the board's REPL.
    if board.kind == "webrepl" or is_webrepl_url(target):
        return True
    if VIRTUAL in (board.name, target):
        return False  # each new "virtual" link is a board of its own
    return os.path.realpath(board.name) == os.path.realpath(target)


def where(port: str) -> str:
    """A port for people: "browser" is the board the page opened."""
    return "the board on your computer (browser link)" if port == BROWSER else port


def describe(board: Board, firmware: str) -> str:
    """One line naming the firmware and the link."""
    return f"Connected to {firmware} via {board.transport.describe()}."


@dataclass
class Status:
    """What the connection is, as plain data (for a panel or the extension)."""

    connected: bool
    kind: str = ""  # "serial", "virtual" or "webrepl"
    name: str = ""  # port, URL or "virtual"
    link: str = ""  # the link described in words

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Connected:
    """Everything one connection owns beside the board's own (its caps, its mount), made
    when it opens and dropped with it."""

    board: Board
    #: The board's files, over the file channel chosen for this connection.
    files: BoardFiles
    #: Not yet told in a cell (connected at start or from the panel): the next cell says
    #: what is connected and records its provenance.
    unannounced: bool = False
    #: The provenance record of this connection, once asked for.
    provenance: dict[str, Any] | None = None


class Connection:
    """The board this kernel talks to (or none), its lock, and connecting on first use.

    `notify(text, error=False)` receives notes for the user; `ask_password` is called for a WebREPL
    target that is opened without a password (it asks in a hidden prompt);
    `on_auto_connect(board)` runs when first use connects by itself (the kernel announces).
    """

    def __init__(
        self,
        notify: Callable[..., None] | None = None,
        ask_password: Callable[[], str] | None = None,
        on_auto_connect: Callable[[Board], None] | None = None,
    ) -> None:
        #: The open connection's record (None: not connected).
        self.current: Connected | None = None
        self.lock = threading.RLock()
        self.notify: Callable[..., None] = notify or (lambda text, error=False: None)
        self.ask_password = ask_password
        self.on_auto_connect = on_auto_connect
        self.auto_connect = True  # until the user connects or disconnects explicitly
        self.startup_error: str | None = None
        #: The line the last link ended with, told by each cell until a board is connected
        #: (a tab closed mid-cell: its cell's output reached nobody).
        self.lost_line = ""
        self._opened_with: tuple[str, int] = ("", 115200)
        #: What the board prints between cells; its `listeners` get it (start() to read).
        self.idle = IdleOutput(self.lock, lambda: self.board)

    @property
    def board(self) -> Board | None:
        """The connected board, or None."""
        return self.current.board if self.current is not None else None

    def _attach(self, board: Board | None, unannounced: bool = False) -> None:
        """Make `board` the connection (None: none), with a fresh record."""
        self.lost_line = ""
        self.current = None if board is None else Connected(board, BoardFiles(board), unannounced)

    def _detach(self) -> Board | None:
        """Forget the current board (and its record); return it."""
        board, self.current = self.board, None
        return board

    def files(self) -> BoardFiles:
        """The connected board's files (connecting on first use); hold `lock` while using."""
        self.require()
        assert self.current is not None
        return self.current.files

    @contextmanager
    def using_files(self) -> Iterator[BoardFiles]:
        """The board's files (connecting if need be), under the lock for the block."""
        files = self.files()
        with self.lock:
            yield files

    def take_unannounced(self) -> Board | None:
        """The board a cell should announce now (connected at start or from the panel), once."""
        current = self.current
        if current is None or not current.unannounced:
            return None
        current.unannounced = False
        return current.board

    def open(
        self,
        target: str,
        baudrate: int = 115200,
        root: str | None = None,
        password: str | Callable[[], str] | None = None,
        unannounced: bool = False,
    ) -> Board:
        """Open a board and replace the current one once the new one answers, so a failed
        connect keeps the board that worked (a link that may share the current one's REPL
        goes after it is closed). A ws:// target needs a password (or a function that asks
        for it: it is called once the WebREPL answers). `unannounced`: the next cell
        announces it (see take_unannounced)."""
        if is_webrepl_url(target) and password is None:
            if self.ask_password is None:
                raise UsageError("A WebREPL needs its password: --password-from-env VAR.")
            password = self.ask_password
        self.auto_connect = False
        if self.board is not None and _may_share_repl(self.board, target):
            self.close()  # leaving its REPL would disturb the new link: free it first
        try:
            board = Board.open(target, baudrate=baudrate, root=root, password=password)
        except TransportError as exc:  # the new link failed; the current one is still fine
            raise BoardError(str(exc)) from None
        self.close()
        self._attach(board, unannounced)
        self._opened_with = (target, baudrate)
        VirtualBoard.drop_spare()  # started for a first cell that used another board
        return board

    def close(self) -> None:
        """Close the current board, if any (it is left in its friendly REPL)."""
        self.auto_connect = False
        self.lost_line = ""
        board = self._detach()
        if board is not None:
            with self.lock:
                board.close()

    def lost(self, line: str = "") -> None:
        """The link broke (`line` says how): forget the board so that the next connect
        starts clean."""
        self.lost_line = line
        board = self._detach()
        if board is not None:
            board.close(leave=False)

    def connect_at_start(self) -> bool:
        """Connect to $MPKERNEL_PORT quietly; a failure is kept for the first use to say
        (and nothing else is connected instead: the run asked for that board)."""
        try:
            self.connect(quiet=True)
        except (UsageError, BoardError) as exc:
            self.startup_error = str(exc)
            self.auto_connect = False
            return False
        if self.current is not None:  # the first cell announces the board, virtual or not
            self.current.unannounced = True
        return True

    def require(self) -> Board:
        """The connected board; the first time, connect to the default one."""
        if self.board is not None:
            return self.board
        if self.startup_error:
            error, self.startup_error = self.startup_error, None
            self.auto_connect = False
            raise BoardError(f"Connecting at start failed: {error}")
        if not self.auto_connect:
            if self.lost_line:
                raise UsageError(
                    f"Not connected: the link ended in an earlier cell. {self.lost_line}"
                )
            env = port_from_env()
            uses = f" (it uses MPKERNEL_PORT={env})" if env else ""
            raise UsageError(f"Not connected to a board: run %connect{uses} or %connect PORT.")
        self.auto_connect = False
        board = self.connect()
        if self.on_auto_connect is not None:
            self.on_auto_connect(board)
        return board

    def connect(
        self,
        port: str | None = None,
        baudrate: int = 115200,
        root: str | None = None,
        password: str | Callable[[], str] | None = None,
        quiet: bool = False,
    ) -> Board:
        """Connect to `port`, or to the board choose_port() finds (saying so if virtual).

        A board named by $MPKERNEL_PORT that does not answer is an error that names the
        variable: nothing else (the virtual board least of all) is connected instead."""
        target = choose_port(port)
        from_env = not port and target == port_from_env()
        if target == VIRTUAL and not port and not quiet:
            self.notify(
                ("MPKERNEL_PORT=virtual" if from_env else "No board found by USB id (see %ports)")
                + ": using the virtual board (MicroPython on this computer). "
                "%connect PORT uses a real one.\n"
            )
        try:
            return self.open(target, baudrate, root, password)
        except (UsageError, BoardError) as exc:
            if not from_env:
                raise
            # The run asked for this board: never fall back to another one.
            kind = UsageError if isinstance(exc, UsageError) else BoardError
            raise kind(
                f"MPKERNEL_PORT={target}: {exc} (the virtual board is used only when "
                "MPKERNEL_PORT is not set)"
            ) from None

    @contextmanager
    def using(self) -> Iterator[Board]:
        """The board (connecting if need be), held under the lock for the block."""
        board = self.require()
        with self.lock:
            yield board

    def status(self) -> Status:
        board = self.board
        if board is None:
            return Status(False)
        return Status(True, board.kind, board.name, board.transport.describe())

    def reset(self, hard: bool = False) -> str:
        """Soft reset (variables gone, boot.py runs) or hard reset; what the board printed."""
        with self.using() as board:
            return board.hard_reset() if hard else board.soft_reset()

    @contextmanager
    def released(self) -> Iterator[Board | None]:
        """Close the board's port for another tool (esptool), then reconnect to MicroPython.

        Yields the board that was connected (closed now), or None. If MicroPython does not
        answer afterwards, says so through `notify` and stays disconnected.
        """
        board = self._detach()
        if board is not None:
            with self.lock:
                board.close()
        try:
            yield board
        finally:
            port = board.transport.tool_port if board is not None else None
            if port:
                target, baud = self._opened_with
                try:
                    self._attach(Board.open(target, baudrate=baud))
                    self.notify(f"Reconnected to MicroPython on {where(port)}.\n")
                except BoardError as exc:
                    self.notify(
                        f"MicroPython does not answer on {where(port)} now ({exc}). "
                        "After flashing MicroPython, run %connect.\n",
                        error=True,
                    )
