"""Code without what costs a small board heap and changes nothing it runs: comments, and
the text of docstrings and other bare string statements. Line numbers stay as they were
(a blanked docstring keeps its line breaks), so tracebacks name the user's lines."""

from __future__ import annotations

import io
import tokenize

_SKIP = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT)


def lean(code: bytes) -> bytes:
    """`code` without comments and with bare string statements emptied; `code` unchanged
    where Python's tokenizer does not read it (MicroPython compiles it as it is)."""
    try:
        text = code.decode()
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (UnicodeDecodeError, tokenize.TokenError, SyntaxError):
        return code
    lines = text.splitlines(keepends=True)
    cuts: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT:
            cuts.append((tok.start, tok.end, ""))
        elif tok.type == tokenize.STRING and _bare_statement(tokens, i):
            prefix = tok.string[: len(tok.string) - len(tok.string.lstrip("rRbBuU"))]
            if "f" not in prefix.lower():
                breaks = tok.string.count("\n")
                empty = '"""' + "\n" * breaks + '"""' if breaks else '""'
                cuts.append((tok.start, tok.end, prefix + empty))
    if not cuts:
        return code
    for (row, col), (end_row, end_col), new in reversed(cuts):
        head = lines[row - 1][:col]
        tail = lines[end_row - 1][end_col:]
        if not new:
            head = head.rstrip(" \t")
        lines[row - 1 : end_row] = [head + new + tail]
    return "".join(lines).encode()


def _bare_statement(tokens: list[tokenize.TokenInfo], i: int) -> bool:
    """Whether tokens[i] is a whole statement on its own (a docstring, a bare string)."""
    before = next((t for t in reversed(tokens[:i]) if t.type not in _SKIP[2:4]), None)
    after = next((t for t in tokens[i + 1 :] if t.type != tokenize.COMMENT), None)
    starts = before is None or before.type in (tokenize.NEWLINE, tokenize.NL)
    starts = starts or (before is not None and before.type == tokenize.OP and before.string == ";")
    ends = after is None or after.type in (tokenize.NEWLINE, tokenize.ENDMARKER)
    ends = ends or (after is not None and after.type == tokenize.OP and after.string == ";")
    return starts and ends
