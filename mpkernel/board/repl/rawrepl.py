"""The raw REPL protocol: enter it, run code in it (raw-paste when offered), stream the output."""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ...errors import BoardError
from ..helpers import helper
from ..links.transport import Transport
from .cut_put import end_cut_put
from .lean_code import lean
from .run_end import SHORT_ANSWER, SHORT_PROBE, RunEnd, end_statement, new_mark
from .silent_code import is_silent
from .stdin_relay import may_read_stdin

CTRL_A = b"\x01"  # enter raw REPL (or reprint its banner)
CTRL_B = b"\x02"  # leave raw REPL for the friendly REPL
CTRL_C = b"\x03"  # interrupt / clear the line
CTRL_D = b"\x04"  # end of code; soft reset at an empty raw prompt
RAW_PASTE_ASK = b"\x05A\x01"  # ask for raw-paste mode
RAW_BANNER = b"raw REPL; CTRL-B to exit"
FRIENDLY_READY = b"for more information."
FRIENDLY_PROMPT = b">>> "
SOFT_REBOOT = b"soft reboot"
#: Without raw-paste, nothing tells how fast the board takes code, and a UART without flow
#: control drops what overflows its receive buffer (64 bytes on some boards) while the board
#: is busy. Code goes in paced slices into a board variable, is checked there (length and
#: checksum) before any of it runs, and is sent again more slowly if bytes were lost.
LEGACY_PACES = ((64, 0.01), (32, 0.01), (16, 0.01), (8, 0.01), (4, 0.02))  # (bytes, pause s)
#: Code this short goes in one write even without raw-paste: it fits a 64-byte receive buffer
#: with the end and probe bytes, whatever the board is doing.
SAFE_BURST = 48
#: Longer code goes to such a board in verified pieces of this many bytes: a piece, its
#: literal and the step's source fit a 2 KB heap.
LEGACY_PIECE = 256
_LEGACY_VAR = b"_mpk_code"
_LEGACY_RUN = b"exec(globals().pop('_mpk_code'))"
_COLLECT = b"__import__('gc').collect()\nprint(0)"
#: How a long cell's pieces are kept on the board (helpers/cell_pieces): in a file, or in
#: RAM where no file can be written (the file of an attempt that ran out of room goes).
#: A NameError for _mpk_cw: the helper is not (or no longer) defined.
_INTO_FILE = b"_mpk_cw\n_mpk_ct=0\n_mpk_cl=0\n_mpk_cf=open('.mpk_cell','wb')\n" + _COLLECT
_INTO_RAM = (
    b"_mpk_cw\ntry:\n _mpk_cf.close()\n __import__('os').remove('.mpk_cell')\nexcept Exception:\n"
    b" pass\n_mpk_ct=0\n_mpk_cl=[]\n_mpk_cf=None\n" + _COLLECT
)
#: A delivery given up: its file closed and removed, its pieces dropped.
_DROP_PIECES = (
    b"try:\n _mpk_cf.close()\n __import__('os').remove('.mpk_cell')\nexcept Exception:\n pass\n"
    b"_mpk_cf=_mpk_cl=None\n__import__('gc').collect()"
)
#: All pieces kept: the file is closed, and what the pieces left collected.
_PIECES_KEPT = b"if _mpk_cf:\n _mpk_cf.close()\n_mpk_cf=None\n" + _COLLECT
#: Code shorter than this goes in one write in plain raw mode: with its Ctrl-D and the probe
#: it fits the smallest stdin buffer (ESP8266: 256 bytes, 255 usable) and one WebREPL text
#: frame, and saves raw-paste's handshake round trip.
SMALL_CODE = 254
#: Seconds for the board's `OK` to code it was sent (a board in its raw REPL answers at once).
OK_TIMEOUT = 5.0
#: After the Ctrl-C that enter() sends: what ends the board's answer (the friendly prompt, the
#: raw prompt after a run or its banner), and the seconds of silence that end it otherwise (a
#: board already in its raw REPL answers nothing), within at most SETTLE[1] seconds.
PROMPTS = (b">>> ", b"\x04>", b"exit\r\n>")
SETTLE = (0.1, 1.0)
#: Seconds a command of ours (a helper: file listing, get, put's end, hash...) may pass
#: without a byte from the board (a slow chip hashing a large file takes a few) before the
#: board counts as reset or hung. Never a user's cell, which may rightly be silent for long.
HELPER_SILENCE = 30.0
#: Bytes the raw REPL acts on while it receives code (Ctrl-A..Ctrl-E, and NUL, which some
#: ports mangle): code holding one would be cut, ended early or run half.
_RESERVED = re.compile(rb"[\x00-\x05]")


class ReplError(BoardError):
    """The board does not speak the raw REPL as expected; the message says what to check."""


class ResetSinceLastRun(ReplError):
    """The board reset while nothing ran (reset button, power, watchdog, a crash)."""

    def __init__(self) -> None:
        super().__init__(
            "The board reset since the last cell (reset button, power, watchdog or a crash): "
            "its variables are gone and this cell did not run. Run it again, after the cells "
            "it needs."
        )


class Intercept(Protocol):
    """Something that serves requests a running program prints (mount.MountServer)."""

    def filter(self, data: bytes, answer: bool = True) -> bytes:
        """The program's own bytes of `data` (requests in it are taken out, and answered
        unless not `answer`)."""

    #: Requests seen since the run started (reset() sets it to 0).
    requests_seen: int

    def reset(self) -> None:
        """A run starts: forget a request that an interrupt cut short."""


@dataclass
class ExecResult:
    """What one run of code on the board produced (stdout went to the callback)."""

    error: str = ""  # the traceback text, empty on success
    interrupted: bool = False
    reset: bool = False  # the board reset during or right after the code (state is gone)
    #: What the board printed while it reset (atexit callbacks, boot.py), prompts removed.
    reset_output: bytes = b""


class RawRepl:
    """Runs code on a board through its raw REPL over any Transport."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.raw_paste: bool | None = None  # None: not yet asked
        self.in_raw = False
        #: enter() found a put cut off mid-file waiting on the board, and ended it.
        self.cut_put = False
        #: Code shorter than this goes in one plain raw-mode write (0: always raw-paste,
        #: which streams code into the compiler: better where heap is tiny).
        self.small_code = SMALL_CODE
        self._pending = bytearray()  # bytes read past what the last step needed
        self._idle_tail = b""  # the last bytes the idle reader took (a reset shows there)
        self._mark: bytes | None = None  # what the code sent last prints when it completes
        self._probed = False  # a probe was queued behind the code sent last
        self._short = False  # ... and it was SHORT_PROBE (else Ctrl-A)
        self._silent = False  # the code sent last can print nothing (silent_code)
        #: The size of the code sent last when it runs through exec() (see LEGACY_PACES), or 0.
        self._legacy_run = 0
        self._pace = 0  # index into LEGACY_PACES that delivered code intact last
        self._pieces_cut = False  # the stop button cut a long cell's delivery short
        self._before_ok = b""  # printed by a running thread while the code went in
        #: Serves requests in the output of every run (a mounted folder). The first request
        #: of a run takes the probe queued behind its code from stdin (the board's side
        #: skips it): the run's end is then probed afresh.
        self.intercept: Intercept | None = None

    # -- reading -----------------------------------------------------------------

    def _read(self, timeout: float) -> bytes:
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            return data
        return self.transport.read(timeout)

    def read_until(self, marker: bytes, timeout: float) -> bytes:
        """Read until `marker` has arrived; return everything up to and including it."""
        buf = bytearray()
        end = time.monotonic() + timeout
        while True:
            idx = buf.find(marker)
            if idx >= 0:
                self._pending[:0] = buf[idx + len(marker) :]
                return bytes(buf[: idx + len(marker)])
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(bytes(buf))
            buf += self._read(min(left, 0.1))

    def read_until_prompt(self, timeout: float) -> bytes:
        """What the board prints until its friendly prompt (a board starting up runs boot.py
        and main.py, then prompts), or all it printed in `timeout` seconds."""
        try:
            return self.read_until(FRIENDLY_PROMPT, timeout)
        except TimeoutError as exc:
            return bytes(exc.args[0])

    # -- entering and leaving ----------------------------------------------------

    def enter(self, interrupt: bool = True, timeout: float = 3.0) -> bytes:
        """Enter the raw REPL without resetting the board; return what was drained on the way.

        With `interrupt`, a running program gets one Ctrl-C first, a second one if it did not
        stop, and a put cut off mid-file (Ctrl-C off) is ended (`cut_put` says so).
        """
        seen = bytearray()
        self._pending.clear()
        self._idle_tail = b""
        self.cut_put = False
        self.transport.write(b"\r" + CTRL_C if interrupt else b"\r")
        seen += self._settle()
        for attempt in range(3):
            self.transport.write(b"\r" + CTRL_A)
            try:
                seen += self.read_until(RAW_BANNER, timeout)
                seen += self.read_until(b">", 1.0)
                break
            except TimeoutError as exc:
                seen += exc.args[0]
                if attempt == 0 and interrupt:
                    # A boot.py or main.py loop may have started after our first Ctrl-C.
                    self.transport.write(CTRL_C)
                    seen += self._settle()
                    continue
                if attempt == 1 and interrupt:
                    said = end_cut_put(self.transport)
                    seen += said
                    self.cut_put = b"KeyboardInterrupt" in said  # the helper's abort
                    if said:
                        continue
                raise ReplError(_no_answer(seen)) from None
        self.in_raw = True
        return bytes(seen)

    def _settle(self) -> bytes:
        """What the board prints in answer to a Ctrl-C: read up to its prompt (or until it
        has been quiet for SETTLE[0] seconds), so that the Ctrl-A that follows reaches the
        REPL rather than a program that is still stopping."""
        out = bytearray()
        quiet, limit = SETTLE
        end = time.monotonic() + limit
        while time.monotonic() < end:
            chunk = self.transport.read(min(quiet, max(0.0, end - time.monotonic())))
            if not chunk:
                break
            out += chunk
            if out.endswith(PROMPTS):
                break
        return bytes(out)

    def leave(self) -> None:
        """Return the board to its friendly REPL, as a terminal user expects to find it."""
        if self.in_raw:
            self.transport.write(CTRL_B)
            self.in_raw = False

    def soft_reset(self, timeout: float = 10.0) -> bytes:
        """Soft-reset from the raw REPL (boot.py runs, main.py does not); return boot output."""
        if not self.in_raw:
            self.enter()
        self.transport.write(CTRL_D)
        try:
            text = self.read_until(SOFT_REBOOT, timeout)
            text += self.read_until(RAW_BANNER, timeout)
            self.read_until(b">", 1.0)
        except TimeoutError as exc:
            raise ReplError(
                "The board did not come back from the soft reset: try %reset --hard."
            ) from exc
        return reset_output(text.removeprefix(b"OK"))

    # -- sending code ------------------------------------------------------------

    def _send_raw_paste(self, code: bytes, probe: bytes = b"") -> bool:
        """Send code in raw-paste mode; False when the board has no raw-paste mode."""
        self.transport.write(RAW_PASTE_ASK)
        head = self.read_exact(2, timeout=3.0)
        if head == b"R\x00":  # understood but refused
            return False
        if head != b"R\x01":  # firmware < 1.14: Ctrl-A reprinted the raw banner
            self._pending[:0] = head
            self.read_until(RAW_BANNER, 2.0)
            self.read_until(b">", 1.0)
            return False
        window = self.read_exact(2)
        window_size = struct.unpack("<H", window)[0]
        # The board grants a second window right behind the first: read already, it goes
        # to the far end with the code (flow control over there).
        grants = len(self._pending) - len(self._pending.lstrip(b"\x01"))
        credit = window_size * (1 + grants)
        if self.transport.raw_paste(code, window_size, then=probe, credit=credit):
            del self._pending[:grants]
            self._probed = bool(probe)
            while self.read_exact(1) != CTRL_D:  # the board's acknowledgement of the end
                pass
            return True
        remain = window_size
        pos = 0
        while pos < len(code):
            while remain == 0 or self._pending or self._readable():
                flow = self.read_exact(1)
                if flow == b"\x01":  # one more window granted
                    remain += window_size
                elif flow == CTRL_D:  # the board aborted the paste
                    self.transport.write(CTRL_D)
                    return True
            chunk = code[pos : pos + remain]
            self.transport.write(chunk)
            pos += len(chunk)
            remain -= len(chunk)
        self.transport.write(CTRL_D + probe)  # end of code (the probe waits behind it)
        self._probed = bool(probe)
        # The board acknowledges the end with Ctrl-D (window grants may come first).
        while self.read_exact(1) != CTRL_D:
            pass
        return True

    def read_idle(self) -> bytes:
        """What arrived while nothing runs (for the idle reader); a reset in it is said at
        the next run (ResetSinceLastRun)."""
        data = self.take_unread() + self.transport.read(0)
        self._idle_tail = (self._idle_tail + data)[-512:]
        return data

    def take_unread(self) -> bytes:
        """Bytes read past the end of the last step (a thread's output after a run's end)."""
        data = bytes(self._pending)
        self._pending.clear()
        return data

    def unread(self, data: bytes) -> None:
        """Put bytes back, to be read again first."""
        self._pending[:0] = data

    def _readable(self) -> bool:
        data = self.transport.read(0)
        if data:
            self._pending += data
            return True
        return False

    def read_exact(self, n: int, timeout: float = 5.0) -> bytes:
        """Read exactly n bytes (ReplError if the board stops sending)."""
        buf = bytearray()
        end = time.monotonic() + timeout
        while len(buf) < n:
            if time.monotonic() > end:
                stalled = None if buf else self.transport.stalled(timeout)
                if stalled is not None:
                    self.in_raw = False
                    raise stalled
                self.in_raw = False
                raise board_stopped(timeout)
            buf += self._read(0.1)
        self._pending[:0] = buf[n:]
        return bytes(buf[:n])

    def _send_legacy(self, code: bytes, probe: bytes = b"") -> None:
        """For firmware without raw-paste: deliver the code verified, then start it.

        The code goes lean (lean_code: no comments, empty docstrings, same lines): the
        board's heap holds its text before compiling it. Up to one piece it goes as a bytes
        literal into a board variable, checked (length and checksum) before it runs. Longer
        code goes piece by piece (helpers/cell_pieces: each piece checked, resent until it
        arrives intact, kept in a file on the board), and runs as one bytes object read
        back: the board holds no more than the raw REPL's own buffer of the code would, so
        a cell it cannot hold gets its own MemoryError.
        """
        size = len(code)
        code = lean(code)
        if len(code) <= LEGACY_PIECE:  # one piece: one step, no file
            stage = b"%s=%s\nprint(len(%s),sum(%s)%%65521)" % (
                _LEGACY_VAR, _bytes_literal(code), _LEGACY_VAR, _LEGACY_VAR,
            )  # fmt: skip
            self._stage(stage, b"%d %d" % (len(code), sum(code) % 65521), size)
            run = _LEGACY_RUN
        else:
            self._stage_pieces(code, size)
            run = b"exec(_mpk_cr(%d,%d))" % (len(code), sum(code) % 65521)
        self.transport.write(run + CTRL_D + probe)
        self._probed = bool(probe)
        self._legacy_run = size
        self._expect_ok()

    def _stage_pieces(self, code: bytes, size: int) -> None:
        """Hand `code` (a cell of `size` bytes) to the board's cell_pieces helper, piece by
        verified piece, into a file; into RAM where the board has no room for the file (the
        board's OSError). The helper is defined first where the board lacks it."""
        try:
            self._stage_all(code, size)
        except ReplError:
            # Close the file and drop the pieces kept so far: the board keeps no stale heap.
            self._drop_pieces()
            raise
        except KeyboardInterrupt:
            self._pieces_cut = True  # dropped once the board is back at its prompt (exec)
            raise

    def _drop_pieces(self) -> None:
        """A delivery given up: the board drops its pieces and its staging file."""
        self._pieces_cut = False
        self.transport.write(_DROP_PIECES + CTRL_D)
        self._legacy_answer()

    def _stage_all(self, code: bytes, size: int) -> None:
        for opening in (_INTO_FILE, _INTO_RAM):
            failed = self._stage(_checked(opening), b"0", size, (b"NameError", b"OSError"))
            if failed == b"NameError":
                self._stage(_checked(helper("cell_pieces").encode() + b"print(0)"), b"0", size)
                failed = self._stage(_checked(opening), b"0", size, (b"OSError",))
            if failed:
                continue  # no file can be written here
            for pos in range(0, len(code), LEGACY_PIECE):
                piece = code[pos : pos + LEGACY_PIECE]
                call = b"_mpk_cw(%s,%d,%d,%d)" % (
                    _bytes_literal(piece), pos, len(piece), sum(piece) % 65521,
                )  # fmt: skip
                if self._stage(call, b"%d" % (pos + len(piece)), size, (b"OSError",)):
                    break  # no room for the file
            else:
                self._stage(_checked(_PIECES_KEPT), b"0", size)
                return
        raise ReplError("The board could not keep the cell anywhere: %reset, then run it again.")

    def _stage(
        self, stage: bytes, expect: bytes, size: int, missing: tuple[bytes, ...] = ()
    ) -> bytes:
        """Run one delivery step, paced, until the board answers `expect` (sent again, more
        slowly, when it answers something else: bytes were lost on the way); b"". Where its
        error names one of `missing`, that one; the board's MemoryError is said as it is."""
        while True:
            size_, pause = LEGACY_PACES[self._pace]
            self.transport.write_paced(stage, size_, pause)
            self.transport.write(CTRL_D)
            got, error = self._legacy_answer()
            if got == expect:
                return b""
            for word in missing:
                if word in error:
                    return word
            if b"MemoryError" in error:
                raise ReplError(
                    f"{_last_line(error)} (the cell is {size} bytes): the board has too "
                    "little free memory for it; split it into smaller cells, or free memory "
                    "(del big variables, %reset)."
                )
            if self._pace == len(LEGACY_PACES) - 1:
                raise ReplError(
                    "The board keeps losing bytes of the code sent to it, even sent slowly: "
                    "check the cable and the baud rate, or update MicroPython (1.14 or later "
                    "has a flow-controlled paste mode)."
                )
            self._pace += 1

    def _legacy_answer(self) -> tuple[bytes, bytes]:
        """What a delivery step printed and its error; (b"", b"") when its answer did not
        arrive whole (the board is back at `>`)."""
        try:
            self.read_until(b"OK", 3.0)
            got = self.read_until(b"\x04", 5.0)
            error = self.read_until(b"\x04", 5.0)
            self.read_until(b">", 1.0)
        except TimeoutError:
            # Bytes lost on the way (the end of code among them?): clear the line, start over.
            self.enter()
            return b"", b""
        return got[:-1].strip(), error[:-1]

    def _expect_ok(self) -> None:
        """Plain raw mode: the board answers OK when it has taken the code. What came before
        it was printed meanwhile by a program still running (a thread): `follow` shows it."""
        try:
            self._before_ok = self.read_until(b"OK", OK_TIMEOUT)[:-2]
        except TimeoutError as exc:
            stalled = None if exc.args[0] else self.transport.stalled(OK_TIMEOUT)
            if stalled is not None:
                self.in_raw = False
                raise stalled from None
            if not exc.args[0]:
                self.in_raw = False
                raise board_stopped(OK_TIMEOUT) from None
            raise ReplError(
                f"The board did not accept the code (it answered {exc.args[0][:60]!r})."
            ) from None

    def queued(self, code: bytes) -> bytes | None:
        """`code` as one plain raw-mode write with its probe, to travel along other traffic
        (a WebREPL transfer) and be read later with follow_queued; None where it does not
        fit one write (or holds a byte the raw REPL reserves)."""
        if not self.in_raw or len(code) >= self.small_code or _RESERVED.search(code):
            return None
        return code + CTRL_D + CTRL_A

    def follow_queued(self, on_output: Callable[[bytes], None], timeout: float) -> ExecResult:
        """The run of the next command written as `queued` gave it: TimeoutError when no
        `OK` came within `timeout` seconds."""
        self.read_until(b"OK", timeout)
        self._mark, self._probed, self._legacy_run = None, True, 0
        self._silent = self._short = False
        return self.follow(on_output)

    def send(self, code: bytes) -> None:
        """Send code to run; the board starts running it.

        So that `follow` knows the run's real end whatever the program prints (run_end), a
        probe is queued right behind the code: the board answers it only once the run is
        over (the short probe's `OK\x04\x04>`; the raw banner for a Ctrl-A, where a mounted
        folder's requests share stdin). Code that may read stdin (and so take the probe)
        gets a last statement that prints a fresh mark instead. Code that can print nothing
        (silent_code) needs neither: its end costs nothing on the wire. Empty code is never
        sent (the raw REPL would take it as a soft reset), nor code holding a byte the
        protocol reserves.
        """
        reserved = _RESERVED.search(code)
        if reserved:
            line = code[: reserved.start()].count(b"\n") + 1
            raise ReplError(
                f"Line {line} holds the control byte 0x{reserved.group()[0]:02x}, which the raw "
                "REPL reserves: remove it, or write it as an escape inside a string."
            )
        if not self.in_raw:
            self.enter()
        else:
            # Whatever arrived since the last run (a late probe answer) is not this run's;
            # a reset's banner means the board's state is gone: say so, run nothing.
            late = self._idle_tail + bytes(self._pending) + self.transport.read(0)
            self._pending.clear()
            self._idle_tail = b""
            if _rebooted(late) or SOFT_REBOOT in late:
                self.in_raw = False  # the next run enters the raw REPL afresh
                raise ResetSinceLastRun()
        if not code.strip():
            code = b"pass"
        self._mark, self._probed = None, False
        self._silent = is_silent(code)
        # A probe queued behind code that may read stdin would be read: a mark instead.
        if not self._silent and may_read_stdin(code):
            self._mark = new_mark()
            if not code.endswith(b"\n"):
                code += b"\n"
            if code.rstrip(b" \t\r\n").endswith(b"\\"):
                code += b"\n"  # a blank line ends a dangling line continuation
            code += end_statement(self._mark)
        # The short probe is a run of its own, which a mounted folder's first request (that
        # skips one Ctrl-A on the board) must not meet: Ctrl-A then.
        probe = b"" if self._mark or self._silent else CTRL_A
        if probe and self.intercept is None:
            probe = SHORT_PROBE
        self._short = probe == SHORT_PROBE
        if self.raw_paste is False:
            small = SAFE_BURST  # no paste to stream into: a burst this short is safe and lean
        else:
            small = self.small_code if self.raw_paste else min(self.small_code, SAFE_BURST)
        self._legacy_run = 0
        if len(code) < small:
            self.transport.write(code + CTRL_D + probe)
            self._probed = bool(probe)
            self._expect_ok()
            return
        if self.raw_paste is not False:
            used = self._send_raw_paste(code, probe)
            if self.raw_paste is None:
                self.raw_paste = used
            if used:
                return
        self._send_legacy(code, probe)

    # -- running code ------------------------------------------------------------

    def exec(
        self,
        code: str | bytes,
        on_output: Callable[[bytes], None],
        interrupt_grace: float = 2.0,
        silence: float | None = None,
    ) -> ExecResult:
        """Run code, passing stdout bytes to `on_output` as they arrive (`silence`: see
        follow).

        A KeyboardInterrupt (the kernel's stop button) while waiting sends Ctrl-C to the
        board and keeps reading until the board reports its own KeyboardInterrupt.
        """
        if isinstance(code, str):
            code = code.encode()
        interrupted = False
        try:
            self.send(code)
        except KeyboardInterrupt:
            interrupted = True
        try:
            result = self.follow(on_output, interrupt_grace, interrupted, silence)
        except KeyboardInterrupt:
            # A stop that landed outside follow's read loop (as the run began or ended): the
            # board may still run the code. Stop it and take the raw prompt again, so that
            # the next run finds the board in step.
            self.enter()
            raise
        if self._pieces_cut and self.in_raw:  # the stop button cut a long cell's delivery
            self._drop_pieces()
        return result

    def follow(
        self,
        on_output: Callable[[bytes], None],
        interrupt_grace: float = 2.0,
        interrupted: bool = False,
        silence: float | None = None,
    ) -> ExecResult:
        """Read the running code's output to its end (see exec); `interrupted`: Ctrl-C now;
        `silence`: seconds without a byte from the board after which a command of ours (never
        a user's cell, which may rightly wait) counts as lost: ReplError, raw mode left.

        The end is where the protocol really ends, whatever bytes the program prints
        (see run_end): output is passed on byte-exact, 0x04 included.
        """
        result = ExecResult()
        interrupts = 0
        deadline: float | None = None
        ends = RunEnd(
            on_output, self._mark, self.transport.write, self._probed, self._silent, self._short
        )
        ends.pty_echo = self.transport.echoes
        self._mark, self._probed, self._silent, self._short = None, False, False, False
        intercept = self.intercept
        queued_probe = ends.probes > 0  # still in the board's stdin, unless a request took it
        if intercept is not None:
            intercept.reset()
        if self._before_ok:
            before, self._before_ok = self._before_ok, b""
            on_output(before)

        def interrupt() -> None:
            nonlocal interrupts, deadline
            result.interrupted = ends.interrupted = True
            self.transport.interrupt()
            interrupts += 1
            deadline = time.monotonic() + interrupt_grace

        if interrupted:
            interrupt()
        recheck = False
        heard = time.monotonic()
        # The loop runs inside the try: a stop that lands on the loop's own test or jump
        # (thousands of times a run) is caught as well, never escaping with the board
        # still running.
        while not ends.done:
            try:
                while not ends.done:
                    if recheck:  # a stop press may have cut the last feed short: look again
                        recheck = False
                        ends.feed(b"")
                        continue
                    ends.flush()
                    data = self._read(0.2)
                    if data and intercept is not None:
                        data = intercept.filter(data, answer=not result.interrupted)
                        if queued_probe and intercept.requests_seen:
                            queued_probe = False
                            ends.probe_taken()
                    if data:
                        heard = time.monotonic()
                        ends.feed(data)
                        continue
                    ends.idle()
                    if silence is not None and time.monotonic() - heard > silence:
                        self.in_raw = False
                        raise board_stopped(silence)
                    if deadline is not None and time.monotonic() > deadline:
                        if interrupts >= 2:
                            self.in_raw = False
                            raise ReplError(
                                "The board did not stop after Ctrl-C: run %reset --hard "
                                "(or press its reset button), then %connect."
                            )
                        interrupt()
                    if _rebooted(ends.tail):
                        ends.finish_unconfirmed()
                        result.reset = True
                        self.in_raw = False
                        _flush_calmly(ends)
                        return result
            except KeyboardInterrupt:
                interrupt()
                recheck = True
        _flush_calmly(ends)
        self._pending[:0] = ends.after
        result.error = ends.error.decode("utf-8", "replace")
        if self._legacy_run:
            result.error = _unwrap_exec(result.error, self._legacy_run)
            self._legacy_run = 0
        result.reset = ends.reset
        last = result.error.strip().splitlines()[-1:]
        if last and last[0].startswith("KeyboardInterrupt"):
            result.interrupted = True
        self._after_exec(result, ends.probes_pending, ends.short)
        if result.interrupted and intercept is not None:
            # An answer the stop cut short may have left bytes on the board's line: clear it.
            self.transport.write(CTRL_C)
        return result

    def _after_exec(self, result: ExecResult, probes: int = 0, short: bool = False) -> None:
        """Consume the prompt that follows the output; notice a reset (sys.exit()).
        `probes` were not answered yet, the first of them the short probe if `short`."""
        try:
            got = self.read_until(b">", 0.5 if not self._pending else 0.2)
        except TimeoutError as exc:
            got = exc.args[0]
        answers = [SHORT_ANSWER] * (short and probes > 0) + [RAW_BANNER] * (probes - short)
        for answer in answers if got.strip() == b">" else []:
            # A probe sent while the program still ran: the board answers it now (unless a
            # Ctrl-C flushed it or the program's input() took it).
            try:
                self.read_until(answer, 0.1 if result.interrupted else 1.0)
                if answer == RAW_BANNER:
                    self.read_until(b">", 1.0)
            except TimeoutError:
                break
        if got.strip() == b">":
            return
        if FRIENDLY_READY in got and RAW_BANNER not in got:  # a hard reset: friendly REPL
            result.reset = True
            result.reset_output = reset_output(got)
            self.in_raw = False
            return
        if SOFT_REBOOT in got or RAW_BANNER in got:
            result.reset = True
            if RAW_BANNER not in got:
                try:
                    got += self.read_until(RAW_BANNER, 10.0)
                    self.read_until(b">", 1.0)
                except TimeoutError as exc:
                    got += exc.args[0]
                    self.in_raw = False
            result.reset_output = reset_output(got)


def board_stopped(seconds: float) -> ReplError:
    """The one line for a board that sent nothing while a command of ours waited."""
    return ReplError(
        f"The board stopped answering (nothing for {seconds:.0f} s): it reset or hangs. "
        "Run %reset --hard (or press its reset button), then %connect."
    )


def reset_output(seen: bytes) -> bytes:
    """What the board printed around a reset (atexit callbacks before it, boot.py after it),
    without the reset notice, the banners and the prompts."""
    keep = []
    for line in seen.replace(b"\r\n", b"\n").split(b"\n"):
        bare = line.strip()
        if bare in (b"", b">") or bare.endswith(SOFT_REBOOT) or RAW_BANNER in bare:
            continue
        if bare.startswith((b"MicroPython ", b'Type "help()"', b">>>")):
            continue
        keep.append(line)
    return b"".join(line + b"\n" for line in keep)


def _flush_calmly(ends: RunEnd) -> None:
    """Hand over the last output; the run is over, so a stop press now changes nothing."""
    while True:
        try:
            ends.flush()
            return
        except KeyboardInterrupt:
            continue


def _bytes_literal(data: bytes) -> bytes:
    """A bytes literal of data in plain ASCII (no byte the raw REPL reserves)."""
    return repr(data).encode("ascii")


def _checked(code: bytes) -> bytes:
    """A delivery step that runs `code` only if it arrived intact (length and checksum):
    a step with a lost byte prints nothing, and is sent again."""
    return b"%s=%s\nif len(%s)==%d and sum(%s)%%65521==%d:exec(globals().pop('%s'))" % (
        _LEGACY_VAR, _bytes_literal(code), _LEGACY_VAR, len(code), _LEGACY_VAR,
        sum(code) % 65521, _LEGACY_VAR,
    )  # fmt: skip


def _unwrap_exec(error: str, size: int = 0) -> str:
    """A traceback from code run by exec() as if the code had been sent as it is; a
    MemoryError before the code ran (compiling or reading it back) names the cell's size."""
    # Frames of the delivery helper (cell_pieces' _mpk_cr) are not the user's.
    lines = error.splitlines(keepends=True)
    error = "".join(line for line in lines if not line.rstrip().endswith(", in _mpk_cr"))
    before_run = '"<string>"' not in error
    outer = '  File "<stdin>", line 1, in <module>\n'
    if error.startswith("Traceback") and outer in error:
        error = error.replace(outer, "", 1)
    error = error.replace('File "<string>"', 'File "<stdin>"')
    last = error.rstrip().splitlines()[-1:]
    if size and before_run and last and last[0].startswith("MemoryError"):
        error = error.rstrip() + (
            f" (the cell is {size} bytes: the board has too little free memory for it; split "
            "it into smaller cells, or free memory)\n"
        )
    return error


def _last_line(error: bytes) -> str:
    """The last line of a traceback the board printed."""
    lines = error.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "MemoryError"


def _rebooted(tail: bytes | bytearray) -> bool:
    """Whether the output ends at a prompt the board prints only after a reset."""
    text = bytes(tail).rstrip(b" ")
    return (FRIENDLY_READY in tail and text.endswith(b">>>")) or (
        SOFT_REBOOT in tail and RAW_BANNER in tail and text.endswith(b">")
    )


def _no_answer(seen: bytes | bytearray) -> str:
    shown = seen.decode("utf-8", "replace").strip()[-80:]
    heard = f" (it sent: {shown!r})" if shown else " (it sent nothing)"
    return (
        "The board did not answer like MicroPython" + heard + ": check the baud rate "
        "(115200 for MicroPython), the cable and the port, that no other program uses the "
        "port, that MicroPython is flashed, and that no main.py loop ignores Ctrl-C."
    )
