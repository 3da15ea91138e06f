"""%provenance: the board's identity, recorded in the notebook."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from IPython.display import display

from ..services.provenance import bundle, record
from .registry import arg, magic

if TYPE_CHECKING:
    from ..services.context import Context


@magic("provenance")
@arg("--with-mac", action="store_true", help="include the WiFi MAC address")
def provenance_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Record the board's identity (firmware, unique id, flash, heap) in the notebook.

    The record is also kept in `_provenance` for %%host cells.
    """
    board = kernel.require_board()
    with kernel.board_lock:
        rec = record(board, args.with_mac)
    kernel.host.user_ns["_provenance"] = rec
    display(bundle(rec), raw=True)
