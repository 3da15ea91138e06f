"""What a surface (a magic, a widget, a board panel request) may use of the kernel: a narrow
context instead of the whole kernel. The kernel is one; a test can give its own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..board.session import Board
    from .connection import Connection


class HostShell(Protocol):
    """The kernel's own IPython, as %%host, %pull/%push and %%plot use it."""

    user_ns: dict[str, Any]
    execution_count: int

    def run_cell(self, raw_cell: str, store_history: bool = ..., silent: bool = ...) -> Any: ...


class Context(Protocol):
    """The connection, the cell's output, asking for a line or a secret, the user namespace
    (the host shell), and taps on the cell's board output."""

    #: The one board connection (its lock, its record).
    connection: Connection
    #: Extra receivers of the current cell's board output (%capture, %%plot).
    taps: list[Callable[[str], None]]

    @property
    def host(self) -> HostShell:
        """The host's IPython: the user namespace, host cells."""

    @property
    def log(self) -> logging.Logger | logging.LoggerAdapter[Any]: ...

    @property
    def board(self) -> Board | None: ...

    @property
    def board_lock(self) -> threading.RLock: ...

    def say(self, text: str, name: str = "stdout") -> None:
        """Show text in the current cell's output."""

    def getpass(self, prompt: str = "", stream: Any = None) -> str:
        """Ask for a secret in a hidden prompt (the frontend's stdin)."""

    def require_board(self) -> Board:
        """The connected board; the first time, connect to the default one."""

    def disconnect(self) -> None: ...

    def hint_once(self, key: str, text: str) -> None:
        """Say `text` the first time `key` comes up in this kernel."""

    def run_on_board(self, code: str, count: int, silent: bool = False) -> dict[str, Any]:
        """Run cell code on the board, streaming its output; the execute reply."""
