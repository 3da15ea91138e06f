"""`input()` and `sys.stdin` of a cell, answered from the notebook.

The raw REPL gives no sign that a program waits for input. So a cell that mentions `input`
or `sys.stdin` first gets small replacements (helpers/stdin.py): they print a marker with
the prompt, then read one line. `StdinRelay` sits in the cell's output stream: it takes the
marker out, asks the notebook for the line (`ask(prompt)`, None where the frontend has no
stdin) and sends it to the board; the virtual board's terminal echo of it is not shown.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable

from .run_end import partial_start

START = b"\x1empk-in\x1e"
END = b"\x1e\x1f"
NO_STDIN = b"\x1e"  # sent instead of a line: the board's input() raises EOFError
#: Code that may read stdin: input() or sys.stdin, or a name that may call them. The raw
#: REPL ends such code by a mark (a probe queued behind it would be read as input), and a
#: cell's stdin relay is set up for it.
_MAY_READ = "stdin|input"
_MAY_READ_TEXT = re.compile(_MAY_READ)
_MAY_READ_BYTES = re.compile(_MAY_READ.encode())
#: Typed characters that a board's UART or the virtual board's terminal would act on
#: (Ctrl-C interrupts, Ctrl-D ends, DEL erases ...): they are not sent.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def may_read_stdin(code: str | bytes) -> bool:
    """Whether the code may call input() or read sys.stdin."""
    if isinstance(code, bytes):
        return _MAY_READ_BYTES.search(code) is not None
    return _MAY_READ_TEXT.search(code) is not None


def rewrite(code: str) -> str:
    """`sys.stdin` in the cell's code becomes `_mpk_stdin` (lines and line numbers kept)."""
    if "stdin" not in code:
        return code
    spans: list[tuple[int, int, int]] = []  # (row, start col, end col)
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return code
    for a, b, c in zip(toks, toks[1:], toks[2:], strict=False):
        if (a.string, b.string, c.string) == ("sys", ".", "stdin") and a.start[0] == c.end[0]:
            spans.append((a.start[0], a.start[1], c.end[1]))
    if not spans:
        return code
    lines = code.split("\n")
    for row, start, end in reversed(spans):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + "_mpk_stdin" + line[end:]
    return "\n".join(lines)


def sendable(line: str) -> bytes:
    """The typed line as sent to the board: control characters left out, then \\r."""
    return _CONTROL.sub("", line).encode() + b"\r"


class StdinRelay:
    """Passes a cell's output on to `out`, answering input markers as they come.

    `ask(prompt)` returns the typed line, or None where the frontend has no stdin;
    `write` sends bytes to the board; `echo`: the link echoes what is sent (a PTY).
    """

    def __init__(
        self,
        out: Callable[[bytes], None],
        ask: Callable[[str], str | None],
        write: Callable[[bytes], None],
        echo: bool = False,
    ) -> None:
        self.out = out
        self.ask = ask
        self.write = write
        self.echo = echo
        self.refused = False  # the board asked for input where there is no stdin
        self._buf = bytearray()
        self._echo: bytes | None = None  # the echo still expected of the line sent last

    def feed(self, data: bytes) -> None:
        self._buf += data
        if self._echo is not None:
            self._drop_echo()
        while True:
            at = self._buf.find(START)
            if at < 0:
                self._pass(len(self._buf) - partial_start(self._buf, START))
                return
            self._pass(at)
            end = self._buf.find(END, len(START))
            if end < 0:
                return  # the prompt is still on its way
            prompt = bytes(self._buf[len(START) : end]).decode("utf-8", "replace")
            del self._buf[: end + len(END)]
            self._answer(prompt)

    def finish(self) -> None:
        """Pass on whatever is held (the run is over)."""
        self._pass(len(self._buf))

    def _answer(self, prompt: str) -> None:
        line = None if self.refused else self.ask(prompt)
        if line is None:
            self.refused = True
            self.write(NO_STDIN + b"\r")
            self._echo = b"^^" if self.echo else None  # how a terminal echoes 0x1e
            return
        sent = sendable(line)
        self.write(sent)
        self._echo = sent[:-1] if self.echo else None

    def _drop_echo(self) -> None:
        """Drop the terminal's echo of the line sent: its text, then one line end (the
        PTY's settings decide between \\n, \\r\\n and \\r\\r\\n)."""
        echo = self._echo or b""
        n = 0
        while n < len(self._buf) and n < len(echo) and self._buf[n] == echo[n]:
            n += 1
        if n < len(echo):
            if n == len(self._buf):  # so far so good: the rest is on its way
                del self._buf[:n]
                self._echo = echo[n:]
            else:
                self._echo = None  # not an echo after all
            return
        rest = bytes(self._buf[n : n + 3])
        if rest in (b"", b"\r", b"\r\r"):  # the line end is on its way
            del self._buf[:n]
            self._echo = b""
            return
        for eol in (b"\r\r\n", b"\r\n", b"\n"):
            if rest.startswith(eol):
                n += len(eol)
                break
        del self._buf[:n]
        self._echo = None

    def _pass(self, upto: int) -> None:
        if upto > 0:
            piece = bytes(self._buf[:upto])
            del self._buf[:upto]
            self.out(piece)
