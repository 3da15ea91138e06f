"""Magic commands: one module per group, all registered in `registry.MAGICS`."""

# Importing a group's module registers its magics.
from . import (  # noqa: F401
    connection,
    files,
    flash,
    help,
    host,
    libraries,
    mount,
    provenance,
    webrepl,
    wifi,
)
from .registry import MAGICS, MagicError, host_body, run_magic_line

__all__ = ["MAGICS", "MagicError", "host_body", "run_magic_line"]
