"""Declaring magics: a decorator builds each one's argument parser and help line."""

from __future__ import annotations

import argparse
import importlib
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import UsageError
from ..services.host_paths import host_paths

if TYPE_CHECKING:
    from ..services.context import Context


#: The old name of UsageError, for code written before the errors module.
MagicError = UsageError


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as UsageError instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split()[1:])  # one line, however long
        raise UsageError(f"{message}. Usage: {usage}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise _HelpShown()

    def print_help(self, file: object = None) -> None:
        """The kernel shows the help itself (see run_magic_line)."""


class _HelpShown(Exception):
    """`-h` was given: the help has been printed."""


@dataclass
class Magic:
    name: str
    func: Callable[..., Any]
    cell: bool
    parser: _Parser
    raw: bool = False  # called as func(kernel, rest_of_line): the line as typed
    on_host: bool = False  # a cell magic whose body the kernel runs in its own IPython

    @property
    def summary(self) -> str:
        return (self.func.__doc__ or "").strip().splitlines()[0]


#: The modules that declare magics, one per group (each registers its own on import).
GROUPS = (
    "connection", "files", "flash", "help", "host", "libraries", "mount", "provenance",
    "webrepl", "wifi",
)  # fmt: skip


class _Registry(Mapping[str, Magic]):
    """The magics by name (`%name`, `%%name`). The groups are imported when a magic is first
    looked up, not when the kernel starts: some bring esptool, ipywidgets and the like, which
    a cell without magics never needs."""

    def __init__(self) -> None:
        self._magics: dict[str, Magic] = {}
        self._loaded = False

    def _load(self) -> dict[str, Magic]:
        if not self._loaded:
            self._loaded = True
            for group in GROUPS:
                importlib.import_module(f"{__package__}.{group}")
        return self._magics

    def add(self, name: str, found: Magic) -> None:
        self._magics[name] = found

    def __getitem__(self, name: str) -> Magic:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


MAGICS = _Registry()


def arg(*names: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare one argument of a magic (same arguments as argparse's add_argument).

    `help` is plain text: a `%` in it is shown as typed (argparse would read it as a format).
    """
    if "help" in options:
        options = {**options, "help": options["help"].replace("%", "%%")}

    def add(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__dict__.setdefault("_mpk_args", []).insert(0, (names, options))
        return func

    return add


def magic(
    name: str, cell: bool = False, raw: bool = False, on_host: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a line magic (`%name`) or, with cell=True, a cell magic (`%%name`).

    The function's docstring: first line is the one-line help, the rest the long help.
    A line magic is called as func(kernel, args); a cell magic as func(kernel, args, body).
    With raw=True the line is not parsed: func(kernel, rest_of_line) gets it as typed.
    With on_host=True (a cell magic) the kernel runs the body in its own IPython instead.
    A cell magic may return an execute reply (a dict with "status") for the cell.
    """

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        doc = (func.__doc__ or "").strip()
        prefix = "%%" if cell else "%"
        parser = _Parser(
            prog=prefix + name,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            add_help=True,
        )
        for names, options in func.__dict__.get("_mpk_args", []):
            parser.add_argument(*names, **options)
        MAGICS.add(prefix + name, Magic(name, func, cell, parser, raw, on_host))
        return func

    return register


def host_body(code: str) -> str | None:
    """The body of a cell that runs on the host (its first line an on_host magic), or None.

    A first line with arguments (`%%host -h`) is not a host cell: run_magic_line parses it.
    """
    text = code.lstrip()
    first, _, body = text.partition("\n")
    head, _, rest = first.strip().partition(" ")
    found = MAGICS.get(head) if first.startswith("%%") else None
    return body if found is not None and found.on_host and not rest.strip() else None


def run_magic_line(kernel: Context, line: str, body: str | None = None) -> Any:
    """Run one magic line (`%name args` or, with a body, `%%name args`)."""
    head, _, rest = line.strip().partition(" ")
    found = MAGICS.get(head)
    if found is None:
        raise UsageError(f"Unknown magic {head}: run %lsmagic to list the magics.")
    if found.raw and rest.strip() not in ("-h", "--help"):
        return found.func(kernel, rest)
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise UsageError(f"{head}: {exc} (check the quotes)") from None
    try:
        args = found.parser.parse_args(words)
    except _HelpShown:
        kernel.say(found.parser.format_help())
        return None
    with host_paths():  # a host path the user gave that this computer refuses: one line
        if found.cell:
            return found.func(kernel, args, body or "")
        return found.func(kernel, args)
