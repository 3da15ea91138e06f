"""Magics in this process, without a kernel process (as ipykernel's own tests run a kernel in
process): a small Context with a real Connection (to a real virtual board), the host's real
IPython for the user namespace, and the cell's output collected."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from IPython.core.interactiveshell import InteractiveShell

from mpkernel.magics import run_magic_line
from mpkernel.services.connection import Board, Connection


class InProcess:
    """A surface context (mpkernel.services.context.Context) for tests."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self.output: list[tuple[str, str]] = []
        self.connection = Connection(notify=self._notify)
        self.taps: list[Callable[[str], None]] = []
        self.host: Any = InteractiveShell.instance()
        self.log = logging.getLogger("mpkernel.inprocess")
        self.secrets = list(secrets or [])
        self.hints: set[str] = set()

    def _notify(self, text: str, error: bool = False) -> None:
        self.say(text, "stderr" if error else "stdout")

    @property
    def board(self) -> Board | None:
        return self.connection.board

    @property
    def board_lock(self) -> threading.RLock:
        return self.connection.lock

    def say(self, text: str, name: str = "stdout") -> None:
        if text:
            self.output.append((name, text))

    def getpass(self, prompt: str = "", stream: Any = None) -> str:
        if not self.secrets:
            raise RuntimeError(f"no secret left for {prompt!r}")
        return self.secrets.pop(0)

    def require_board(self) -> Board:
        return self.connection.require()

    def disconnect(self) -> None:
        self.connection.close()

    def hint_once(self, key: str, text: str) -> None:
        if key not in self.hints:
            self.hints.add(key)
            self.say(text)

    def run_on_board(self, code: str, count: int, silent: bool = False) -> dict[str, Any]:
        raise NotImplementedError("cells run in a kernel: use the kernel fixtures")

    # -- for tests -----------------------------------------------------------------------

    def magic(self, line: str, body: str | None = None) -> str:
        """Run one magic line; what it printed (stdout)."""
        start = len(self.output)
        run_magic_line(self, line, body)
        return "".join(text for name, text in self.output[start:] if name == "stdout")

    def connect_virtual(self, root: Path) -> Board:
        return self.connection.open("virtual", root=str(root))
