"""Whether code can print nothing at all: then its run's end needs no probe (run_end).

The raw REPL's end (`\\x04<traceback>\\x04>`) is ambiguous only because a program may print
0x04 itself. Code that runs no code but its own and calls nothing (assignments of literals
and names, arithmetic on literals) prints nothing, so the first 0x04 after its `OK` is the
protocol's. Anything else (a call, an attribute, an operator on a name: each may run a user's
method), or code the host cannot parse, is not silent. The check is on the host's parser,
whose syntax MicroPython's follows.
"""

from __future__ import annotations

import ast
from functools import lru_cache

#: Longer code is not looked at (its probe costs little next to sending it).
LOOK_LIMIT = 2048
#: Characters a literal of silent code may hold: none the raw REPL acts on (and no 0x04
#: that an error message could quote).
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n"}


def is_silent(code: bytes) -> bool:
    """Whether running `code` can print nothing but the raw REPL's own end."""
    if len(code) > LOOK_LIMIT:
        return False
    return _silent(code)


@lru_cache(maxsize=64)
def _silent(code: bytes) -> bool:
    try:
        tree = ast.parse(code.decode("utf-8"))
        return all(_silent_statement(node) for node in tree.body)
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return False


def _silent_statement(node: ast.stmt) -> bool:
    if isinstance(node, ast.Pass):
        return True
    if isinstance(node, ast.Expr):  # not shown in the raw REPL: only literals run no code
        return _literal(node.value)
    if isinstance(node, ast.Assign):
        return all(_target(t, node.value) for t in node.targets) and _value(node.value)
    return False


def _target(node: ast.expr, value: ast.expr) -> bool:
    """A plain name (a global's dict runs no code), or a tuple or list of them unpacking
    a literal or a tuple or list display (unpacking a name could run its __iter__)."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        unpacks = _literal(value) or isinstance(value, (ast.Tuple, ast.List))
        return unpacks and all(isinstance(e, ast.Name) for e in node.elts)
    return False


def _value(node: ast.expr) -> bool:
    """A literal, a name, or a tuple, list or dict of those (no hashing of names)."""
    if isinstance(node, ast.Name) or _literal(node):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_value(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _literal(k) for k in node.keys) and all(
            _value(v) for v in node.values
        )
    return False


def _literal(node: ast.expr) -> bool:
    """A constant, or operators and containers over constants only (no user methods)."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        return not (isinstance(value, str) and _CONTROL.intersection(value))
    if isinstance(node, ast.UnaryOp):
        return _literal(node.operand)
    if isinstance(node, ast.BinOp):
        return _literal(node.left) and _literal(node.right)
    if isinstance(node, ast.BoolOp):
        return all(_literal(v) for v in node.values)
    if isinstance(node, ast.Compare):
        return _literal(node.left) and all(_literal(c) for c in node.comparators)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _literal(k) for k in node.keys) and all(
            _literal(v) for v in node.values
        )
    return False
