"""Code that runs on the board, kept as real MicroPython source files."""

from __future__ import annotations

import io
import tokenize
from functools import cache
from importlib import resources


@cache
def helper(name: str) -> str:
    """The source of helpers/<name>.py, made small for the wire.

    Comment and blank lines go, and each 4-space indent becomes one space: a helper is
    sent with every use, and every byte costs ~87 us at 115200 baud.
    """
    source = resources.files(__package__).joinpath(f"{name}.py").read_text()
    lines = []
    for line in source.splitlines():
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        depth = (len(line) - len(body)) // 4
        lines.append(" " * depth + body)
    return "\n".join(lines) + "\n"


def helper_call(name: str, call: str) -> str:
    """Helper `name`'s code, then `call`; the helper's function is deleted afterwards."""
    func = call.split("(", 1)[0]
    return f"{helper(name)}try:\n {call}\nfinally:\n del {func}\n"


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@cache
def packed(name: str) -> str:
    """helper(name) without a space the parser does not need (`h=f(a,b)`): for code that must
    fit one WebREPL text frame. Each physical line keeps its indent."""
    lines: dict[int, list[str]] = {}
    skip = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    source = helper(name)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip and tok.type != tokenize.COMMENT:
            lines.setdefault(tok.start[0], []).append(tok.string)
    physical = source.splitlines()
    out = []
    for number, tokens in sorted(lines.items()):
        text = tokens[0]
        for tok in tokens[1:]:
            gap = _word(text[-1]) and (_word(tok[0]) or tok[0] in "'\"")
            gap = gap or (text[-1] in "'\"" and _word(tok[0]))
            text += " " + tok if gap else tok
        line = physical[number - 1]
        out.append(line[: len(line) - len(line.lstrip(" "))] + text)
    return "\n".join(out) + "\n"
