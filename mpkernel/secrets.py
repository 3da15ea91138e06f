"""Asking for secrets (WiFi and WebREPL passwords) without ever writing them down.

A secret comes from Jupyter's hidden password prompt (stdin channel) or, for headless runs,
from an environment variable. It is never printed, logged, stored in history or saved in a
notebook: callers pass it straight to the board and drop it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from IPython.core.error import StdinNotImplementedError

from .errors import UsageError


def ask_secret(
    getpass: Callable[[str], str],
    prompt: str,
    from_env: str | None = None,
    default_env: str | None = None,
) -> str:
    """The secret from `$from_env` if named, else a hidden prompt (`getpass`, the kernel's),
    else `$default_env`.

    Raises UsageError with what to do when none of these can give one.
    """
    if from_env:
        value = os.environ.get(from_env)
        if not value:
            raise UsageError(f"The environment variable {from_env} is not set (or empty).")
        return value
    try:
        value = getpass(prompt)
    except StdinNotImplementedError:
        value = os.environ.get(default_env, "") if default_env else ""
        if value:
            return value
        hint = f"set {default_env}, or " if default_env else ""
        raise UsageError(
            "This frontend cannot show a password prompt (a headless run?): "
            f"{hint}use --password-from-env VAR."
        ) from None
    if not value:
        raise UsageError("No password given.")
    return value
