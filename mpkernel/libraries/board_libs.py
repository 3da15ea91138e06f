"""What the board says about libraries: where they go, which .mpy it loads; compiling for it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..board.session import Board, BoardExecError
from ..services import files
from ..services.connection import Connection
from . import mpy
from .mip import LibraryError


@dataclass
class BoardLibs:
    """The board's `sys.path` and `.mpy` version (`sys.implementation._mpy`, None: none)."""

    sys_path: list[str]
    mpy: int | None

    @classmethod
    def ask(cls, conn: Connection) -> BoardLibs:
        with conn.using() as board:
            return cls.of(board)

    @classmethod
    def of(cls, board: Board) -> BoardLibs:
        """Asked of a board directly (the caller holds it: a benchmark, a service)."""
        try:
            value = board.exec_value(
                "_mpk_y = __import__('sys')\n"
                "print(repr((_mpk_y.path, getattr(_mpk_y.implementation, '_mpy', 0))))\n"
                "del _mpk_y"
            )
        except BoardExecError as exc:
            raise LibraryError(f"The board's sys.path could not be read ({exc}).") from None
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], list)):
            raise LibraryError(f"The board's sys.path could not be read ({value!r:.60}).")
        path, version = value
        return cls([str(p) for p in path], int(version) or None)


def compile_for(conn: Connection, paths: list[Path]) -> dict[Path, bytes]:
    """The .mpy of every .py among paths, for the connected board, all compiled before any is
    written (boot.py and main.py stay source); MpyError if one does not compile."""
    todo = [p for p in paths if p.suffix == ".py"]
    return mpy.compile_files(todo, BoardLibs.ask(conn).mpy) if todo else {}


def shadowed(conn: Connection, paths: list[str]) -> list[str]:
    """The .mpy files among paths that a .py beside them on the board hides from import."""
    return [p for p in paths if p.endswith(".mpy") and files.stat(conn, p[:-4] + ".py") is not None]
