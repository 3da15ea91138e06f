"""Magic commands: one module per group (registry.GROUPS), all registered in
`registry.MAGICS`, which imports the groups when a magic is first looked up."""

from .registry import MAGICS, MagicError, host_body, run_magic_line

__all__ = ["MAGICS", "MagicError", "host_body", "run_magic_line"]
