"""Magic commands: one module per group, all registered in `registry.MAGICS`."""

# Importing a group's module registers its magics.
from . import connection, files, flash, help, host, libraries, provenance, webrepl, wifi  # noqa: F401
from .registry import MAGICS, MagicError, host_body, run_magic_line

__all__ = ["MAGICS", "MagicError", "host_body", "run_magic_line"]
