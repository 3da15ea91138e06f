"""What a connected board can do, asked once per connection, and how cells are sent to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .helpers import helper

if TYPE_CHECKING:
    from .session import Board

#: Below this much free heap a board is "tiny": plain raw mode would hold a whole cell's
#: code in RAM before compiling it, and the streaming file helpers do not fit.
TINY_HEAP = 12_000


@dataclass(frozen=True)
class Caps:
    """A board's abilities, probed in execs small enough for a 2 KB heap."""

    raw_in: bool  # binary-clean stdin (sys.stdin.buffer) and a switchable Ctrl-C
    raw_out: bool  # binary-clean stdout (no \\n -> \\r\\n on the way)
    b64: bool  # binascii.a2b_base64
    hash: bool  # hashlib.sha256
    inflate: bool  # deflate.DeflateIO over io.IOBase
    free: int  # free heap after a collection, when probed

    @property
    def tiny(self) -> bool:
        """Too little heap for the streaming file helpers or code held whole in RAM."""
        return self.free < TINY_HEAP


def probe(board: Board) -> Caps:
    """Ask the board what it has (a few tiny execs; a missing module is just a False)."""
    flags = board.exec_value(helper("caps"))
    raw_in = bool(flags[0])
    raw_out = raw_in and board.exec_capture("import sys\nsys.stdout.buffer.write(b'\\n')") == "\n"
    return Caps(
        raw_in=raw_in,
        raw_out=raw_out,
        b64=bool(flags[1]),
        hash=bool(flags[2]),
        inflate=bool(flags[3]),
        free=board.free_heap(),
    )
