"""Tab completion and Shift-Tab inspection from the board's own dir()."""

from __future__ import annotations

import keyword
import re
import weakref
from typing import Any

from ..board.helpers import helper
from ..board.session import Board
from ..errors import BoardError

#: Module names per connected board, asked once (help('modules') is slow on small boards).
_MODULES: weakref.WeakKeyDictionary[Board, list[str]] = weakref.WeakKeyDictionary()

_DOTTED = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*\.?\w*$")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+([\w.]*)$")
_FROM_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+(?:.*,\s*)?(\w*)$")
_NAME_AT = re.compile(r"[A-Za-z_][\w.]*")


def _ask(board: Board, expr: str) -> Any:
    """Evaluate expr on the board; None if it fails (an unknown name, say)."""
    try:
        return board.eval_literal(expr)
    except BoardError:
        return None


def _module_names(board: Board) -> list[str]:
    """Built-in modules (help('modules')) and module files on sys.path; cached per board."""
    cache = _MODULES.get(board)
    if cache is None:
        names: set[str] = set()
        try:
            listing = board.exec_capture("help('modules')")
        except BoardError:
            listing = ""
        words = listing.split("Plus any modules")[0].split()
        names.update(w for w in words if re.fullmatch(r"[A-Za-z_]\w*", w))
        names.update(_ask_code(board, helper("modules")) or [])
        cache = sorted(names)
        _MODULES[board] = cache
    return cache


def _ask_code(board: Board, code: str) -> Any:
    """Run helper code that prints a repr(); None if it fails."""
    try:
        return board.exec_value(code)
    except BoardError:
        return None


def complete(board: Board, before: str) -> tuple[list[str], int]:
    """Completions for the text before the cursor, and where the completed word starts."""
    line = before[before.rfind("\n") + 1 :]
    cursor = len(before)
    m = _IMPORT.match(line)
    if m:
        word = m.group(1)
        return [n for n in _module_names(board) if n.startswith(word)], cursor - len(word)
    m = _FROM_IMPORT.match(line)
    if m:
        module, word = m.groups()
        names = _ask(board, f"dir(__import__({module!r}))") or []
        return sorted(n for n in names if n.startswith(word)), cursor - len(word)
    m = _DOTTED.search(line)
    if not m:
        return [], cursor
    token = m.group(0)
    if "." in token:
        obj, _, word = token.rpartition(".")
        names = _ask(board, f"dir({obj})")
        root = obj.split(".")[0]
        if names is None and re.search(rf"^\s*import\s+{re.escape(root)}\s*$", before, re.M):
            # `import machine` is in the cell but has not run yet: ask the module itself.
            names = _ask(board, f"dir(__import__({obj!r}, None, None, ['_']))")
        names = names or []
        matches = sorted(n for n in names if n.startswith(word))
        if not word.startswith("_"):
            matches = [n for n in matches if not n.startswith("_")]
        return matches, cursor - len(word)
    names = set(_ask(board, "dir()") or [])
    names.update(_ask(board, "dir(__import__('builtins'))") or [])
    names.update(keyword.kwlist)
    return sorted(n for n in names if n.startswith(token) and not n.startswith("__")), (
        cursor - len(token)
    )


def inspect(board: Board, code: str, cursor_pos: int) -> str:
    """Type, value, doc and members of the name under the cursor, as plain text."""
    name = ""
    for m in _NAME_AT.finditer(code):
        if m.start() <= cursor_pos <= m.end():
            name = m.group(0).rstrip(".")
            break
    if not name:
        return ""
    info = _ask(
        board,
        f"(type({name}).__name__, repr({name})[:300], getattr({name}, '__doc__', None), "
        f"[n for n in dir({name}) if n[0] != '_'][:60])",
    )
    if not info:
        return ""
    kind, value, doc, members = info
    parts = [f"{name}: {kind}", f"value: {value}"]
    if doc:
        parts.append(f"doc: {doc}")
    if members:
        parts.append("members: " + ", ".join(members))
    return "\n".join(parts)
