"""Magic commands: one module per group, all registered in `registry.MAGICS`."""

from . import connection, help  # noqa: F401  (importing registers the magics)
from .registry import MAGICS, MagicError, run_magic_line

__all__ = ["MAGICS", "MagicError", "run_magic_line"]
