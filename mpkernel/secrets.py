"""Asking for secrets (WiFi and WebREPL passwords) without ever writing them down.

A secret comes from Jupyter's hidden password prompt (stdin channel) or, for headless runs,
from an environment variable. It is never printed, logged, stored in history or saved in a
notebook: callers pass it straight to the board and drop it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from IPython.core.error import StdinNotImplementedError

from .magics.registry import MagicError

if TYPE_CHECKING:
    from .kernel import MicroPythonKernel


def ask_secret(
    kernel: MicroPythonKernel,
    prompt: str,
    from_env: str | None = None,
    default_env: str | None = None,
) -> str:
    """The secret from `$from_env` if named, else a hidden prompt, else `$default_env`.

    Raises MagicError with what to do when none of these can give one.
    """
    if from_env:
        value = os.environ.get(from_env)
        if not value:
            raise MagicError(f"The environment variable {from_env} is not set (or empty).")
        return value
    try:
        value = kernel.getpass(prompt)
    except StdinNotImplementedError:
        value = os.environ.get(default_env, "") if default_env else ""
        if value:
            return value
        hint = f"set {default_env}, or " if default_env else ""
        raise MagicError(
            "This frontend cannot show a password prompt (a headless run?): "
            f"{hint}use --password-from-env VAR."
        ) from None
    if not value:
        raise MagicError("No password given.")
    return value
