"""Host-side preparation of a cell's code for the board: show the last expression's value."""

from __future__ import annotations

import ast

#: Printed by the board right before the repr of a cell's value; never shown to users.
RESULT_MARK = "\x1empk-result\x1e"


def prepare(code: str) -> tuple[str, bool]:
    """Return (code to send, whether it ends by printing a value after RESULT_MARK).

    Like IPython and the board's own REPL, a cell whose last statement is an expression
    shows its value (unless it ends with ';'); the value is also kept in `_` on the board.
    Line numbers are preserved, so the board's tracebacks point at the user's lines.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, False  # let the board report it, in its own words
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return code, False
    node = tree.body[-1]
    lines = code.splitlines(keepends=True)
    start, end = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    end_col = node.end_col_offset or 0
    before = "".join(lines[:start]) + lines[start][: node.col_offset]
    expr = ast.get_source_segment(code, node) or ""
    after = lines[end][_byte_to_char(lines[end], end_col) :] if end < len(lines) else ""
    if after.split("#", 1)[0].strip().startswith(";"):
        return code, False  # a trailing ';' hides the value, as in IPython
    shown = (
        f"{before}_=({expr}){after.rstrip()}\n"
        f"if _ is not None:print({RESULT_MARK!r},repr(_),sep='',end='')\n"
    )
    return shown, True


def _byte_to_char(line: str, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; convert one to a character index in `line`."""
    return len(line.encode()[:byte_col].decode("utf-8", "replace"))
