"""The errors a user sees, each one line: what they typed wrong, or what failed and why.

The kernel shows a `UsageError` as "UsageError" and an `OperationError` under its own class
name (FileError, FlashError, WifiError, BoardError, ...). Nothing here imports anything, so
every layer may raise them.
"""

from __future__ import annotations


class MpkError(Exception):
    """An error for the user; its message is one line that says what happened and what to do."""


class UsageError(MpkError):
    """The command was used wrongly (a bad argument, a missing name): the message says how."""


class OperationError(MpkError):
    """An operation failed on the board, the link or the host; shown under the class's name."""


class BoardError(OperationError):
    """The board or its link failed: nothing answers, the link is gone, or out of step."""
