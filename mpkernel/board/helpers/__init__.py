"""Code that runs on the board, kept as real MicroPython source files."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def helper(name: str) -> str:
    """The source of helpers/<name>.py, ready to send to the board."""
    return resources.files(__package__).joinpath(f"{name}.py").read_text()
