"""Asking for secrets (WiFi and WebREPL passwords) without ever writing them down.

A secret comes from Jupyter's hidden password prompt (stdin channel) or, for headless runs,
from an environment variable. It is never printed, logged, stored in history or saved in a
notebook: callers pass it straight to the board and drop it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from IPython.core.error import StdinNotImplementedError

from ..errors import UsageError


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


class HideWidgetState(logging.Filter):
    """Keeps widget state out of the kernel's log: at --debug, ipykernel logs every incoming
    message, and a `comm_msg` from the %wifi panel carries the typed password."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, dict) for a in record.args):
            record.args = tuple(_hidden(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = _hidden(record.args)
        return True


def _hidden(value: Any) -> Any:
    """A copy of value with every widget `state` dict's values replaced."""
    if isinstance(value, dict):
        return {
            key: {name: "<hidden>" for name in item}
            if key == "state" and isinstance(item, dict)
            else _hidden(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(_hidden(item) for item in value)
    return value


def webrepl_password(getpass: Callable[[str], str], from_env: str | None = None) -> str:
    """A WebREPL password: `$from_env` if named, else a hidden prompt, else
    `$MPKERNEL_WEBREPL_PASSWORD` (headless runs)."""
    return ask_secret(
        getpass, "WebREPL password: ", from_env=from_env, default_env="MPKERNEL_WEBREPL_PASSWORD"
    )
