"""Host-side preparation of a cell's code for the board: bytes it can take, the last value shown."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import tokenize
from functools import lru_cache

from ...errors import UsageError

#: Printed by the board right before the repr of a cell's value; never shown to users.
RESULT_MARK = "\x1empk-result\x1e"


#: Characters that do not travel as they are: the raw REPL acts on some of them (Ctrl-A..D),
#: ports mangle others (NUL). Tab, newline and form feed are ordinary source characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0d-\x1f\x7f]")
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
_FSTRING_MIDDLE = getattr(tokenize, "FSTRING_MIDDLE", -1)
_FSTRING_END = getattr(tokenize, "FSTRING_END", -1)


class CellRefused(UsageError):
    """The cell cannot be sent to the board as it is; the message says what to change."""


def clean(code: str) -> str:
    """The cell as the board must receive it: `\\r\\n` line ends become `\\n`, and control
    characters inside string literals (and comments) become `\\xNN` escapes, so the value
    is the same byte for byte. Control characters anywhere else raise CellRefused."""
    code = code.replace("\r\n", "\n")
    if not _CONTROL.search(code):
        return code
    # Stand-ins the tokenizer takes for letters: it then shows where each one sits.
    found = sorted(set(_CONTROL.findall(code)))
    spare = (chr(c) for c in range(0xA000, 0xA48C) if chr(c) not in code)
    stand_in = {ch: next(spare) for ch in found}
    original = {v: k for k, v in stand_in.items()}
    text = code.translate({ord(k): v for k, v in stand_in.items()})
    allowed = _escapable_spans(text)
    lines = text.split("\n")
    for row, line in enumerate(lines, 1):
        out = []
        for col, ch in enumerate(line):
            if ch not in original:
                out.append(ch)
                continue
            byte = ord(original[ch])
            if not any(start <= (row, col) < end for start, end in allowed):
                where = "in a raw string" if _in_raw((row, col), text) else "outside a string"
                raise CellRefused(
                    f"Line {row} holds the control character U+{byte:04X} {where}, which "
                    f"cannot be sent to the board: delete it, or write it as '\\x{byte:02x}' "
                    "inside a (non-raw) string."
                )
            if _odd_backslashes(out):
                out.append("\\")  # `\\` + char was that char kept with its backslash
            out.append(f"\\x{byte:02x}")
        lines[row - 1] = "".join(out)
    return "\n".join(lines)


def _odd_backslashes(chars: list[str]) -> bool:
    n = 0
    while n < len(chars) and chars[-1 - n] == "\\":
        n += 1
    return n % 2 == 1


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    """The tokens of text, as far as the tokenizer gets."""
    tokens: list[tokenize.TokenInfo] = []
    with contextlib.suppress(tokenize.TokenError, SyntaxError):
        tokens.extend(tokenize.generate_tokens(io.StringIO(text).readline))
    return tokens


def _escapable_spans(text: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where an `\\xNN` escape means the character itself: non-raw string literals, comments."""
    spans = []
    raw_fstrings: list[bool] = []
    for tok in _tokens(text):
        if tok.type == _FSTRING_START:
            raw_fstrings.append("r" in tok.string.lower())
        elif tok.type == _FSTRING_END and raw_fstrings:
            raw_fstrings.pop()
        elif _escapable(tok, raw_fstrings[-1] if raw_fstrings else False):
            spans.append((tok.start, tok.end))
    return spans


def _escapable(tok: tokenize.TokenInfo, in_raw_fstring: bool) -> bool:
    if tok.type == _FSTRING_MIDDLE:
        return not in_raw_fstring
    if tok.type == tokenize.STRING:
        return "r" not in _prefix(tok.string).lower()
    return tok.type == tokenize.COMMENT


def _in_raw(pos: tuple[int, int], text: str) -> bool:
    return any(
        tok.start <= pos < tok.end and "r" in _prefix(tok.string).lower()
        for tok in _tokens(text)
        if tok.type in (tokenize.STRING, _FSTRING_START)
    )


def _prefix(literal: str) -> str:
    return literal[: min(i for i in (literal.find("'"), literal.find('"'), len(literal)) if i >= 0)]


@lru_cache(maxsize=64)  # a cell run again (a loop over cells, a re-run) is parsed once
def prepare(code: str) -> tuple[str, bool]:
    """Return (code to send, whether it ends by printing a value after RESULT_MARK).

    The code is cleaned first (see `clean`; CellRefused if it cannot be sent). Like IPython
    and the board's own REPL, a cell whose last statement is an expression shows its value
    (unless it ends with ';'); the value is also kept in `_` on the board. Line numbers are
    preserved, so the board's tracebacks point at the user's lines. A last `print(...)`
    goes as it is: its value is None, which neither shows nor replaces `_` (as in IPython
    and the board's REPL), and the wrapper would cost some 75 bytes on the wire (6.5 ms at
    115200 baud), more than the cell itself.
    """
    code = clean(code)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code, False  # let the board report it, in its own words
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return code, False
    node = tree.body[-1]
    if _prints(node.value):
        return code, False
    # Lines as the parser counts them: str.splitlines() would also split at form feeds etc.
    lines = code.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
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


def _prints(expr: ast.expr) -> bool:
    """Whether the expression is a call of `print` (whose value is None)."""
    return (
        isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "print"
    )


def _byte_to_char(line: str, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; convert one to a character index in `line`."""
    return len(line.encode()[:byte_col].decode("utf-8", "replace"))
