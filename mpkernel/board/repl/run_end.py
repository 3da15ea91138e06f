"""Where a run's output ends in the raw REPL's byte stream, whatever bytes the program prints.

The raw REPL frames a run as `<stdout>\\x04<traceback>\\x04>`, which is ambiguous as soon as
the program itself prints 0x04. The end is made certain by a probe, Ctrl-A, queued on the
board right behind the code: the raw REPL reads it only once the run is over and answers
with its banner. So the real end is `\\x04<traceback>\\x04>` followed at once by the banner
`raw REPL; CTRL-B to exit\\r\\n>`, some 30 bytes no program prints by accident; every byte
before it is the program's, 0x04 included. The probe costs no round trip.

Code that may read stdin would take the probe itself; such code instead ends with a
statement that prints a per-run nonce (`end_statement`), so that a completed run ends
`<nonce>\\x04\\x04>`. A run that does not get there (an exception, an interrupt) ends
without it: a tail shaped like the end with nothing after it is then confirmed by a probe
sent at that moment, harmless if the program still runs (it stays queued until the end).
A probe that never gets its answer (input() took it, a Ctrl-C flushed it) is sent again.

Code that can print nothing (silent_code) needs neither: its output is the end alone, so
the first `\x04<traceback>\x04>` right after `OK` is it, at no cost on the wire. Any other
byte there (a thread's output) leaves room for doubt: the run is then treated as any other,
and a tail shaped like the end is confirmed by a probe sent at that moment.

A cell's probe is cheaper still (SHORT_PROBE): a run of nothing queued behind the code,
whose answer `OK\x04\x04>` is 6 bytes where the banner is 27 (2.3 ms at 115200 baud).
It ends a run by itself when the output left no room for doubt: the end's opening 0x04 is
the first 0x04 the run printed. Output that held a 0x04 before it (the program printed
one) is confirmed as before: a Ctrl-A sent then, whose banner must follow the short answer.

Output is passed on as it arrives; only bytes that may belong to the end are held back.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

CTRL_A = b"\x01"
EOT = 0x04
PROBE_ANSWER = b"raw REPL; CTRL-B to exit\r\n>"
#: A run of nothing (a blank line) queued behind a cell's code, and the raw REPL's answer.
SHORT_PROBE = b" \x04"
SHORT_ANSWER = b"OK\x04\x04>"
#: What follows `\x04\x04>` at a run's real end: a probe's answer, a short one perhaps
#: confirmed by a Ctrl-A's banner.
_ANSWERS = (SHORT_ANSWER + PROBE_ANSWER, PROBE_ANSWER)
TRACEBACK = b"Traceback (most recent call last):"
REBOOT_WORDS = (b"MPY: soft reboot", b"soft reboot")
#: An exception printed without traceback lines (compile-time MemoryError and the like).
_BARE_EXCEPTION = re.compile(rb"[A-Za-z_][A-Za-z0-9_.]*(?::|\r|\n|$)")
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_ECHO_OF_CTRL_C = (b"^C", b"^")  # the virtual board's PTY echoes Ctrl-C while code runs
_ECHO_OF_CTRL_A = b"^A"  # ... and a probe that reaches it while code runs
#: Seconds at an unconfirmed end before probing again (a program's input() may have taken
#: the probe, or a Ctrl-C flushed it), and how many probes at most.
PROBE_RETRY = (0.5, 2.0)
_LOOK = 64  # bytes after a 0x04 that tell whether it may start the end
_AT_EXIT = 1024  # at most this much output from atexit callbacks before a reboot notice
#: Seconds of quiet after which bytes held as a possible sys.exit() (`\x04\x04` and what
#: followed it, no reboot notice yet) are the program's after all: a soft reset says so at
#: once, while a program that printed `\x04\x04` and runs on would otherwise keep the rest
#: of its output back until it ends.
AT_EXIT_WAIT = 2.0
#: Seconds of quiet after which output the program printed after `\x04\x04>` (other than
#: the start of a probe's answer) is the program's: after a real end, the answer to the
#: probe queued behind the code follows at once (a thread may print before it).
END_ANSWER_WAIT = 5.0


def new_mark() -> bytes:
    """A fresh nonce for one run (12 random letters or digits): what the end statement prints.

    Over ten characters, so that MicroPython does not intern the literal (interned strings
    are never freed: one per run would leak). The run's end is the mark followed at once
    by the protocol's 0x04.
    """
    return bytes(_ALPHABET[b % 62] for b in os.urandom(12))


def end_statement(mark: bytes) -> bytes:
    """The statement appended to code so that a completed run prints `mark` last."""
    return b"print(end='%s')" % mark


def _without_answer(between: bytes) -> bytes:
    """A thread's output between an end and a probe's banner, without the bytes of the short
    answer (`OK`, 0x04, 0x04, `>`) it was printed among."""
    out = between.replace(b"OK", b"", 1).replace(b"\x04", b"")
    at = out.find(b">")
    return out[:at] + out[at + 1 :] if at >= 0 else out


def _compatible(data: bytes | bytearray, word: bytes) -> bool:
    """Whether data and word agree as far as both go (one is a prefix of the other)."""
    n = min(len(data), len(word))
    return data[:n] == word[:n]


class RunEnd:
    """Feeds on the bytes after `OK` (or raw-paste's ack); finds the run's real end.

    `emit` receives the program's stdout as it becomes certain (at `flush`). After `feed`
    returned True (`done`):
    `error` holds the traceback part and `after` the bytes that followed the end (the prompt).
    """

    def __init__(
        self,
        emit: Callable[[bytes], None],
        mark: bytes | None,
        probe: Callable[[bytes], None],
        probed: bool = False,
        silent: bool = False,
        short: bool = False,
    ) -> None:
        self.emit = emit
        self.mark = mark + b"\x04" if mark else None  # the mark, then the end of stdout
        self._probe = probe
        #: The code can print nothing (silent_code): its output is the end alone.
        self.silent = silent
        #: The probe queued behind the code is SHORT_PROBE (its answer not yet consumed).
        self.short = short and probed
        self._confirming = False  # a Ctrl-A was sent to confirm a short answer
        self._eot_passed = False  # a 0x04 was among the bytes passed on (room for doubt)
        self.probes = int(probed)  # probes sent (one queued behind the code: `probed`)
        #: Ctrl-As among them: only those are answered by the banner, and never before the
        #: stream offset where the first of them was sent (what came before is output).
        self.ctrl_as = int(probed and not short)
        self._ctrl_a_at = 0
        self.answered = 0  # their banners consumed
        self._probed_at = time.monotonic()
        self._fed_at = time.monotonic()  # when the last bytes arrived
        self._waiting = False  # buf holds a complete end that awaits the probe's answer
        self._held_at = 0.0  # since when buf has held a possible end (0: it holds none)
        self.pty_echo = False  # the board echoes input while code runs (the virtual board)
        self._echoes = 0  # probes whose echo may still show in the output
        self._echo_from = 0  # stream offset from where an echo may show
        self.interrupted = False  # hide the PTY's ^C echo right before the end
        self.buf = bytearray()  # bytes not yet passed on
        self._out: list[bytes] = []  # passed on, not yet handed to emit (see flush)
        self.done = False  # the end was found
        self.passed = 0  # how many bytes were passed on
        self.error = b""
        self.after = b""
        self.reset = False  # the run ended by a soft reset (sys.exit())
        self.tail = bytearray()  # the last bytes seen, to notice a reboot

    @property
    def probes_pending(self) -> int:
        """Probes sent whose banners may still come (a run outlived them)."""
        return self.probes - self.answered

    def _send_probe(self) -> None:
        self.probes += 1
        if not self.ctrl_as:
            self._ctrl_a_at = self.passed + len(self.buf)
        self.ctrl_as += 1
        self._echoes += self.pty_echo
        self._echo_from = self.passed + len(self.buf)
        self._probed_at = time.monotonic()
        self._probe(CTRL_A)

    def probe_taken(self) -> None:
        """The program read the probe queued behind its code from stdin (a mounted
        folder's first request): it will never be answered; the end is probed afresh."""
        self.probes = max(0, self.probes - 1)

    def idle(self) -> None:
        """Nothing arrived for a while: probe again if an end awaits an answer that is late;
        pass on what was held as a possible sys.exit() that no reboot notice followed."""
        if self.buf and time.monotonic() - self._fed_at > min(AT_EXIT_WAIT, END_ANSWER_WAIT):
            self._pass(self._hold_from())
        if self._waiting:
            self._probe_again()
        else:
            self._probe_held()

    def _probe_held(self) -> None:
        """Probe if a possible end has been held for PROBE_RETRY[0], whether or not bytes kept
        coming: a thread that prints on after a real end may split it (`\x04\x04tick\n>`)
        where no answer can be matched, and the banner of a Ctrl-A sent then settles it
        (idle() does not run while bytes flow). An end that arrives in pieces is answered
        well before."""
        if EOT not in self.buf:
            self._held_at = 0.0
        elif not self._held_at:
            self._held_at = time.monotonic()
        elif time.monotonic() - self._held_at > PROBE_RETRY[0]:
            self._probe_again()

    def _probe_again(self) -> None:
        """Probe again if the last probe is PROBE_RETRY old and still unanswered."""
        if self.probes > len(PROBE_RETRY):
            return
        if time.monotonic() - self._probed_at > PROBE_RETRY[max(self.probes, 1) - 1]:
            self._send_probe()

    def feed(self, data: bytes) -> bool:
        """Take more bytes; True when the run's end has been found."""
        self.buf += data
        if data:
            self._fed_at = time.monotonic()
        self._waiting = False
        if self._echoes:
            self._drop_echo()
        self.tail = (self.tail + data)[-256:]
        if self.mark is not None:
            at = self.buf.find(self.mark)
            if at >= 0:
                return self._marked_end(at)
        if self.silent and self._silent_end():
            return True
        if self._found_end():
            return True
        self._pass(self._hold_from())
        self._probe_held()
        return False

    def _silent_end(self) -> bool:
        """Whether buf, all a silent run printed, is its end: `\x04<traceback>\x04>` then
        whatever a thread prints after it. Any other byte clears `silent` (doubt)."""
        if not self.buf:
            return False
        if self.passed or self.buf[0] != EOT:
            self.silent = False
            return False
        second = self.buf.find(b"\x04", 1)
        if second < 0 or second + 1 == len(self.buf):
            return False  # the end so far: wait for the rest
        if self.buf[second + 1] != ord(">") or self._start_before(second) != 0:
            self.silent = False
            return False
        return self._end(0, bytes(self.buf[1:second]), bytes(self.buf[second + 1 :]))

    def _found_end(self) -> bool:
        """Whether buf holds the run's end (answered probe, reboot, or our Ctrl-C's answer)."""
        if self.short and self._short_end():
            return True
        for e in _finds(self.buf, b"\x04>"):
            answer = bytes(self.buf[e + 2 : e + 2 + _LOOK]).lstrip(b"\r\n")
            banner = self.buf.find(PROBE_ANSWER, e + 2)
            if banner < 0 or not self.ctrl_as or self.passed + banner < self._ctrl_a_at:
                continue  # no banner, or one printed before a Ctrl-A was sent: output
            start = self._start_before(e)
            if start is None:
                continue
            # The board is at its prompt. A thread may print between the end and the banner:
            # that is its output, even where it split the short answer (`OK\x04tick\n\x04>`),
            # whose bytes then go.
            between = bytes(self.buf[e + 2 : banner])
            self.answered += 1
            if answer.startswith(PROBE_ANSWER):
                between = b""
            elif EOT in between:
                if self.short and b"OK" in between:
                    self.answered += 1
                    self.short = False
                between = _without_answer(between)
            after = b">" + between.removesuffix(b"\r\n")
            after += bytes(self.buf[banner + len(PROBE_ANSWER) :])
            return self._end(start, bytes(self.buf[start + 1 : e]), after)
        for e in _finds(self.buf, b"\x04\x04"):
            if _reboot_follows(self.buf[e + 2 : e + 2 + _AT_EXIT]):  # sys.exit(): a soft reset
                return self._end(e, b"", bytes(self.buf[e + 2 :]), reset=True)
        if not self.buf.endswith(b"\x04>"):
            return False
        e = len(self.buf) - 2
        start = self._start_before(e)
        if start is None:
            return False
        error = bytes(self.buf[start + 1 : e])
        if self.interrupted and _last_line(error).startswith(b"KeyboardInterrupt"):
            return self._end(start, error, b">")  # the answer to our own Ctrl-C
        self._waiting = True  # the end, if the board is idle: a probe will tell
        if not self.probes:
            self._send_probe()
        return False

    def _short_end(self) -> bool:
        """Whether buf holds an end answered by the short probe: `\x04<traceback>\x04>`,
        perhaps a thread's output (no 0x04), then SHORT_ANSWER; and, where the output held
        a 0x04 before that end, the banner of a confirming Ctrl-A right after it."""
        for e in _finds(self.buf, b"\x04>"):
            answer = self.buf.find(SHORT_ANSWER, e + 2)
            if answer < 0:
                return False
            between = bytes(self.buf[e + 2 : answer])
            if EOT in between:
                continue
            start = self._start_before(e)
            if start is None:
                continue
            rest = answer + len(SHORT_ANSWER)
            doubt = EOT in self.buf[:start] or EOT in self.buf[start + 1 : e]
            if doubt or self._eot_passed:  # a 0x04 before the end's own: confirm
                tail = bytes(self.buf[rest : rest + len(PROBE_ANSWER)])
                early = self._confirming and self.passed + rest < self._ctrl_a_at
                if early or not _compatible(tail, PROBE_ANSWER):
                    continue  # more output follows (or came before we asked): the program's
                if len(tail) < len(PROBE_ANSWER):
                    if not self._confirming:
                        self._confirming = True
                        self._send_probe()
                    return False
                self.answered += 1  # the confirming Ctrl-A's banner
                rest += len(PROBE_ANSWER)
            self.answered += 1  # the short probe's answer
            self.short = False
            after = b">" + between + bytes(self.buf[rest:])
            return self._end(start, bytes(self.buf[start + 1 : e]), after)
        return False

    def _start_before(self, e: int) -> int | None:
        """Where the end that closes with the 0x04 at buf[e] starts (its first 0x04)."""
        if e > 0 and self.buf[e - 1] == EOT:
            return e - 1  # an empty traceback part (a traceback ends with a newline)
        start = self.buf.rfind(b"\x04" + TRACEBACK, 0, e)
        if start >= 0:
            return start
        if self.passed == 0 and self.buf[:1] == b"\x04" and _BARE_EXCEPTION.match(self.buf, 1):
            return 0  # an error without traceback lines, before the program printed anything
        return None

    def _hold_from(self) -> int:
        """Bytes from here on may belong to the end: keep them until that is known."""
        for i in _finds(self.buf, b"\x04"):
            if self._may_start_end(i):
                return i
        return len(self.buf) - self._partial_mark()

    def _may_start_end(self, i: int) -> bool:
        s = bytes(self.buf[i + 1 : i + 1 + _LOOK])  # enough to judge, whatever follows
        if not s:
            return True
        if s[0] == EOT:  # an empty traceback part: the prompt and banner, or a reboot follow
            after = s[1:]
            if _compatible(after, b">"):
                # `>` then the probe's answer (on its way), perhaps after a thread's output;
                # bytes that are no answer and stay unanswered are the program's.
                printed = after[1:]
                answer = any(a.startswith(printed) for a in _ANSWERS)
                quiet = time.monotonic() - self._fed_at > END_ANSWER_WAIT
                return answer or not quiet
            # sys.exit(): atexit callbacks may print before the reboot notice.
            rest = self.buf[i + 2 : i + 2 + _AT_EXIT]
            if _reboot_follows(rest):
                return True
            quiet = time.monotonic() - self._fed_at > AT_EXIT_WAIT
            return EOT not in rest and len(rest) < _AT_EXIT and not quiet
        return _compatible(s, TRACEBACK) or bool(self.passed + i == 0 and _BARE_EXCEPTION.match(s))

    def _drop_echo(self) -> None:
        """The virtual board's PTY echoes a probe that arrives while code runs: hide it."""
        at = self.buf.find(_ECHO_OF_CTRL_A, max(0, self._echo_from - self.passed))
        if at >= 0:
            del self.buf[at : at + len(_ECHO_OF_CTRL_A)]
            self._echoes -= 1

    def _pass(self, upto: int, end: bool = False) -> None:
        """Pass on buf[:upto]; hide a ^C echo that sits right before the end."""
        piece = self.buf[:upto]
        if self.interrupted:
            for echo in _ECHO_OF_CTRL_C:
                if piece.endswith(echo):
                    cut = len(piece) - len(echo)
                    if end:
                        piece, upto = piece[:cut], upto  # dropped with the rest
                    else:
                        piece, upto = piece[:cut], cut  # held until the end is known
                    break
        if piece:
            self._out.append(bytes(piece))
            if not end and EOT in piece:
                self._eot_passed = True
        self.passed += upto
        del self.buf[:upto]

    def flush(self) -> None:
        """Hand the output found so far to `emit`. A piece leaves the queue before `emit` has
        it, so that a KeyboardInterrupt inside `emit` (the stop button) never repeats it."""
        while self._out:
            self.emit(self._out.pop(0))

    def _partial_mark(self) -> int:
        """How many bytes at the end of buf could start the mark."""
        return 0 if self.mark is None else partial_start(self.buf, self.mark)

    def _marked_end(self, at: int) -> bool:
        size = len(self.mark or b"")
        second = self.buf.find(EOT, at + size)
        if second < 0:
            self._pass(at)  # all before the mark is the program's
            return False
        self._pass(at, end=True)
        self.error = bytes(self.buf[size : second - at])
        self.after = bytes(self.buf[second - at + 1 :])
        self.buf.clear()
        self.done = True
        return True

    def _end(self, i: int, error: bytes, after: bytes, reset: bool = False) -> bool:
        self._pass(i, end=True)
        self.error = error
        self.after = after
        self.reset = reset
        self.buf.clear()
        self.done = True
        return True

    def finish_unconfirmed(self) -> None:
        """Pass on everything held (the run is over for another reason: a reset)."""
        self._pass(len(self.buf))


def _last_line(text: bytes) -> bytes:
    lines = text.strip().splitlines()
    return lines[-1] if lines else b""


def _finds(data: bytes | bytearray, word: bytes) -> list[int]:
    """Every index where word starts in data."""
    found = []
    at = data.find(word)
    while at >= 0:
        found.append(at)
        at = data.find(word, at + 1)
    return found


def _reboot_follows(data: bytes | bytearray) -> bool:
    """Whether data (what followed `\\x04\\x04`) holds a soft reboot notice, no 0x04 before."""
    at = min((i for i in (data.find(w) for w in REBOOT_WORDS) if i >= 0), default=-1)
    return at >= 0 and EOT not in data[:at]


def partial_start(buf: bytes | bytearray, word: bytes) -> int:
    """How many bytes at the end of `buf` could be the start of `word` (held back until the
    next read tells whether it is)."""
    for n in range(min(len(word) - 1, len(buf)), 0, -1):
        if buf.endswith(word[:n]):
            return n
    return 0
