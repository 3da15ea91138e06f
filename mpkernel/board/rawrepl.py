"""The raw REPL protocol: enter it, run code in it (raw-paste when offered), stream the output."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import BoardError
from .transport import Transport

CTRL_A = b"\x01"  # enter raw REPL (or reprint its banner)
CTRL_B = b"\x02"  # leave raw REPL for the friendly REPL
CTRL_C = b"\x03"  # interrupt / clear the line
CTRL_D = b"\x04"  # end of code; soft reset at an empty raw prompt
RAW_PASTE_ASK = b"\x05A\x01"  # ask for raw-paste mode
RAW_BANNER = b"raw REPL; CTRL-B to exit"
FRIENDLY_READY = b"for more information."
SOFT_REBOOT = b"soft reboot"
LEGACY_SLICE = 256  # bytes per write without raw-paste (ESP8266's stdin ring buffer)
LEGACY_PAUSE = 0.01
#: Code shorter than this goes in one write in plain raw mode: with its Ctrl-D it fits the
#: smallest stdin buffer (ESP8266: 256 bytes, 255 usable) and one WebREPL text frame, and
#: saves raw-paste's handshake round trip.
SMALL_CODE = 255


class ReplError(BoardError):
    """The board does not speak the raw REPL as expected; the message says what to check."""


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
        #: Code shorter than this goes in one plain raw-mode write (0: always raw-paste,
        #: which streams code into the compiler: better where heap is tiny).
        self.small_code = SMALL_CODE
        self._pending = bytearray()  # bytes read past what the last step needed

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

    # -- entering and leaving ----------------------------------------------------

    def enter(self, interrupt: bool = True, timeout: float = 3.0) -> bytes:
        """Enter the raw REPL without resetting the board; return what was drained on the way.

        With `interrupt`, a running program gets one Ctrl-C first.
        """
        seen = bytearray()
        self._pending.clear()
        self.transport.write(b"\r" + CTRL_C if interrupt else b"\r")
        seen += self.transport.drain(quiet=0.1, limit=1.0)
        for attempt in range(2):
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
                    seen += self.transport.drain(quiet=0.1, limit=1.0)
                    continue
                raise ReplError(_no_answer(seen)) from None
        self.in_raw = True
        return bytes(seen)

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

    def _send_raw_paste(self, code: bytes) -> bool:
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
        self.transport.write(CTRL_D)  # end of code
        # The board acknowledges the end with Ctrl-D (window grants may come first).
        while self.read_exact(1) != CTRL_D:
            pass
        return True

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
                raise ReplError("The board stopped answering while receiving code.")
            buf += self._read(0.1)
        self._pending[:0] = buf[n:]
        return bytes(buf[:n])

    def _send_legacy(self, code: bytes) -> None:
        """Send code in paced slices, for firmware without raw-paste mode."""
        for i in range(0, len(code), LEGACY_SLICE):
            self.transport.write(code[i : i + LEGACY_SLICE])
            time.sleep(LEGACY_PAUSE)
        self.transport.write(CTRL_D)
        self._expect_ok()

    def _expect_ok(self) -> None:
        """Plain raw mode: the board answers OK when it has taken the code."""
        try:
            self.read_until(b"OK", 5.0)
        except TimeoutError as exc:
            raise ReplError(
                f"The board did not accept the code (it answered {exc.args[0][:60]!r})."
            ) from None

    def send(self, code: bytes) -> None:
        """Send code to run; the board starts running it."""
        if not self.in_raw:
            self.enter()
        if len(code) < self.small_code:
            self.transport.write(code + CTRL_D)
            self._expect_ok()
            return
        if self.raw_paste is not False:
            used = self._send_raw_paste(code)
            if self.raw_paste is None:
                self.raw_paste = used
            if used:
                return
        self._send_legacy(code)

    # -- running code ------------------------------------------------------------

    def exec(
        self,
        code: str | bytes,
        on_output: Callable[[bytes], None],
        interrupt_grace: float = 2.0,
    ) -> ExecResult:
        """Run code, passing stdout bytes to `on_output` as they arrive.

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
        return self.follow(on_output, interrupt_grace, interrupted)

    def follow(
        self,
        on_output: Callable[[bytes], None],
        interrupt_grace: float = 2.0,
        interrupted: bool = False,
    ) -> ExecResult:
        """Read the running code's output to its end (see exec); `interrupted`: Ctrl-C now."""
        result = ExecResult()
        interrupts = 0
        deadline: float | None = None

        def interrupt() -> None:
            nonlocal interrupts, deadline
            result.interrupted = True
            self.transport.interrupt()
            interrupts += 1
            deadline = time.monotonic() + interrupt_grace

        if interrupted:
            interrupt()
        error = bytearray()
        held = bytearray()  # stdout bytes kept back until the next read decides on them
        part = 0  # 0: stdout, 1: traceback
        tail = bytearray()
        while part < 2:
            try:
                data = self._read(0.2)
                if not data:
                    if deadline is not None and time.monotonic() > deadline:
                        if interrupts >= 2:
                            self.in_raw = False
                            raise ReplError(
                                "The board did not stop after Ctrl-C: run %reset --hard "
                                "(or press its reset button), then %connect."
                            )
                        interrupt()
                    if part == 0 and _rebooted(tail):
                        result.reset = True
                        self.in_raw = False
                        return result
                    continue
                while data and part < 2:
                    idx = data.find(CTRL_D)
                    piece, data = (data, b"") if idx < 0 else (data[:idx], data[idx + 1 :])
                    if part == 0:
                        piece = bytes(held) + piece
                        held.clear()
                        if result.interrupted:
                            # Hide the PTY's echo of Ctrl-C (virtual board) before the end.
                            if idx >= 0 and piece.endswith(b"^C"):
                                piece = piece[:-2]
                            elif idx < 0 and piece.endswith((b"^", b"^C")):
                                cut = 1 if piece.endswith(b"^") else 2
                                held += piece[-cut:]
                                piece = piece[:-cut]
                        if piece:
                            tail = (tail + piece)[-256:]
                            try:
                                on_output(piece)
                            except KeyboardInterrupt:  # in a slow tap: the framing goes on
                                interrupt()
                    else:
                        error += piece
                    if idx >= 0:
                        part += 1
                self._pending[:0] = data
            except KeyboardInterrupt:
                interrupt()
        result.error = error.decode("utf-8", "replace")
        last = result.error.strip().splitlines()[-1:]
        if last and last[0].startswith("KeyboardInterrupt"):
            result.interrupted = True
        self._after_exec(result)
        return result

    def _after_exec(self, result: ExecResult) -> None:
        """Consume the prompt that follows the output; notice a reset (sys.exit())."""
        try:
            got = self.read_until(b">", 0.5 if not self._pending else 0.2)
        except TimeoutError as exc:
            got = exc.args[0]
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


def _rebooted(tail: bytes) -> bool:
    """Whether the output ends at a prompt the board prints only after a reset."""
    text = bytes(tail).rstrip(b" ")
    return (FRIENDLY_READY in tail and text.endswith(b">>>")) or (
        SOFT_REBOOT in tail and RAW_BANNER in tail and text.endswith(b">")
    )


def _no_answer(seen: bytes) -> str:
    shown = seen.decode("utf-8", "replace").strip()[-80:]
    heard = f" (it sent: {shown!r})" if shown else " (it sent nothing)"
    return (
        "The board did not answer like MicroPython" + heard + ": check the baud rate "
        "(115200 for MicroPython), the cable and the port, that no other program uses the "
        "port, that MicroPython is flashed, and that no main.py loop ignores Ctrl-C."
    )
