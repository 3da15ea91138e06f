"""%lsmagic and %help: what the magics are and how to use them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..errors import UsageError
from .registry import MAGICS, arg, magic

if TYPE_CHECKING:
    from ..services.context import Context


def magic_table() -> str:
    width = max(len(name) for name in MAGICS)
    rows = [f"{name.ljust(width)}  {m.summary}" for name, m in sorted(MAGICS.items())]
    return "\n".join(rows)


@magic("lsmagic")
def lsmagic_magic(kernel: Context, args: argparse.Namespace) -> None:
    """List the magics with one line of help each."""
    kernel.say(magic_table() + "\n\n%help NAME (or %NAME -h) tells more.\n")


@magic("help")
@arg("name", nargs="?", help="a magic's name, with or without %")
def help_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Show a magic's full help, or all magics with no name."""
    if not args.name:
        lsmagic_magic(kernel, args)
        return
    name = args.name if args.name.startswith("%") else "%" + args.name
    found = MAGICS.get(name) or MAGICS.get("%" + name)
    if found is None:
        raise UsageError(f"No magic named {name}: run %lsmagic to list them.")
    kernel.say(found.parser.format_help())
