"""What a connected board can do, asked once per connection, and how cells are sent to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .helpers import helper
from .repl.rawrepl import ReplError


class Asked(Protocol):
    """What probing needs of a board (Board is one)."""

    def exec_capture(self, code: str) -> str: ...

    def free_heap(self) -> int: ...


#: Below this much free heap a board is "tiny": plain raw mode would hold a whole cell's
#: code in RAM before compiling it, and the streaming file helpers do not fit.
TINY_HEAP = 12_000

#: What helpers/caps.py prints, one 0/1 flag each, in this order.
_FLAGS = (
    "stdin", "stdin_buffer", "kbd_intr", "binascii", "hashlib", "deflate", "iobase", "stat",
    "statvfs", "rename",
)  # fmt: skip


@dataclass(frozen=True)
class Caps:
    """A board's abilities, probed in execs small enough for a 2 KB heap."""

    raw_in: bool  # binary-clean stdin (sys.stdin.buffer) and a switchable Ctrl-C
    raw_out: bool  # binary-clean stdout (no \\n -> \\r\\n on the way)
    b64: bool  # binascii.a2b_base64
    hash: bool  # hashlib.sha256
    inflate: bool  # deflate.DeflateIO over io.IOBase
    free: int  # free heap after a collection, when probed
    folders: bool = True  # os.stat and folders (False: a flat filesystem, os.size only)
    statvfs: bool = True  # os.statvfs: the board can tell its free space
    rename: bool = True  # os.rename
    iobase: bool = True  # io.IOBase subclasses work as streams (needed by %mount)
    stdin_buffer: bool = True  # sys.stdin.buffer (reads count bytes, not characters)
    stdin: bool = True  # sys.stdin (1.9-era firmware has none: input() reads the UART)

    @property
    def tiny(self) -> bool:
        """Too little heap for the streaming file helpers or code held whole in RAM."""
        return self.free < TINY_HEAP


def probe(board: Asked) -> Caps:
    """Ask the board what it has (a few tiny execs; a missing module is just a False)."""
    text = board.exec_capture(helper("caps")).strip()
    if len(text) != len(_FLAGS) or text.strip("01"):
        raise ReplError(f"Unexpected answer from the board to the caps probe: {text[:80]!r}")
    flags = [c == "1" for c in text]
    has = dict(zip(_FLAGS, flags, strict=True))
    raw_in = has["stdin_buffer"] and has["kbd_intr"]
    raw_out = raw_in and board.exec_capture("__import__('sys').stdout.buffer.write(b'\\n')") == "\n"
    return Caps(
        raw_in=raw_in,
        raw_out=raw_out,
        b64=has["binascii"],
        hash=has["hashlib"],
        inflate=has["deflate"] and has["iobase"],
        free=board.free_heap(),
        folders=has["stat"],
        statvfs=has["statvfs"],
        rename=has["rename"],
        iobase=has["iobase"],
        stdin_buffer=has["stdin_buffer"],
        stdin=has["stdin"],
    )
