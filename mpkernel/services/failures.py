"""How a request that failed is told: one line and a name, the same for a cell (the kernel)
and a board panel request (the extension)."""

from __future__ import annotations

from dataclasses import dataclass

from ..board.links.transport import TransportError
from ..board.repl.cell import CellRefused
from ..errors import BoardError, MpkError, OperationError, UsageError
from .connection import Connection


@dataclass(frozen=True)
class Failure:
    """What the user is told about an exception."""

    ename: str  # UsageError, BoardError, FileError, ..., InternalError
    message: str  # one line
    #: The link broke: the connection has forgotten the board (connect again).
    link_lost: bool = False
    #: A bug of ours: the caller logs the traceback.
    internal: bool = False


def failure_of(exc: BaseException, conn: Connection) -> Failure:
    """The one line for `exc`; a broken link also makes `conn` forget its board."""
    if isinstance(exc, KeyboardInterrupt):
        return Failure("KeyboardInterrupt", "Interrupted.")
    if isinstance(exc, CellRefused):
        return Failure("SyntaxError", str(exc))
    if isinstance(exc, UsageError):
        return Failure("UsageError", str(exc))
    if isinstance(exc, TransportError):
        conn.lost(str(exc))
        return Failure("BoardError", str(exc), link_lost=True)
    if isinstance(exc, OperationError):  # the link works but the board or a step failed
        return Failure(
            "BoardError" if isinstance(exc, BoardError) else type(exc).__name__, str(exc)
        )
    if isinstance(exc, MpkError):
        return Failure(type(exc).__name__, str(exc))
    return Failure(
        "InternalError",
        f"mpkernel failed ({type(exc).__name__}: {exc}); see the log.",
        internal=True,
    )
