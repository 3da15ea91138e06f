"""What the board prints while no cell runs: timer and IRQ callbacks, `_thread`s, a program
a cell started. A background reader takes it from the link and hands it to listeners.

The reader only touches the link under the connection's lock, taken without waiting, for one
non-blocking read at a time; it waits between reads with the lock free. So a cell or a
magic that takes the lock gets the link at once, and never finds half a read in it. The
thread never sees the stop button's KeyboardInterrupt (signals reach the main thread).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from ..board.session import Board, TextStream

#: Characters passed to listeners per idle period (between two cells); the rest is counted.
LIMIT = 1_000_000
#: Seconds between reads: while output flows (the lock is free meanwhile), and while the
#: board is quiet.
POLL = (0.001, 0.05)
#: A late answer of the raw REPL to a probe sent during the last cell (Ctrl-A's banner or
#: the short probe's run of nothing): not the program's.
_PROBE_ANSWER = re.compile(r"\n?raw REPL; CTRL-B to exit\n>|OK\x04\x04>")

Listener = Callable[[str], None]


class IdleOutput:
    """Reads the board between cells; `listeners` get its text (UTF-8 decoded, `\\n` line
    ends) from the reader thread, each call as the text arrives.

    `lock` is the connection's lock, `board()` the board connected now (or None).
    """

    def __init__(self, lock: threading.RLock, board: Callable[[], Board | None]) -> None:
        self.lock = lock
        self.board = board
        self.listeners: list[Listener] = []
        self.shown = 0  # characters passed on since the last cell started
        self.dropped = 0  # characters over LIMIT since then, not passed on
        self._text = TextStream(self._pass)  # UTF-8 and \r\n across reads
        self._order = threading.Lock()  # a read and its delivery, one thread at a time
        self._dead: Board | None = None  # its link failed: the next cell will say so
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: The reader holds the lock for its one read now (a busy machine may stretch it).
        self.reading = False

    def start(self) -> None:
        """Start the reader thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mpkernel-idle", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def catch_up(self) -> int:
        """A cell starts (the caller holds the lock): pass on what arrived up to now, and
        start a new idle period. Returns how many characters the last one dropped."""
        self.flush()
        dropped, self.shown, self.dropped = self.dropped, 0, 0
        return dropped

    def flush(self) -> None:
        """Pass on what arrived up to now (the caller holds the lock, and is about to use
        the link: the raw REPL drops what it finds there before it sends code)."""
        with self._order:
            self._text.feed(self._read())

    def _run(self) -> None:
        wait = POLL[1]
        while not self._stop.wait(wait):
            data = b""
            with self._order:
                if self.lock.acquire(blocking=False):
                    self.reading = True
                    try:
                        data = self._read()
                    finally:
                        self.reading = False
                        self.lock.release()
                if data:
                    self._text.feed(data)
            wait = POLL[0] if data else POLL[1]

    def _read(self) -> bytes:
        """What the board sent, if it sits idle in its raw REPL (caller holds the lock)."""
        board = self.board()
        if board is None or board is self._dead or not board.repl.in_raw:
            return b""
        try:
            return board.repl.read_idle()
        except Exception:  # a link that broke: the next cell reports it
            self._dead = board
            return b""

    def _pass(self, text: str) -> None:
        text = _PROBE_ANSWER.sub("", text)
        room = max(0, LIMIT - self.shown)
        if len(text) > room:
            self.dropped += len(text) - room
            text = text[:room]
        if not text:
            return
        self.shown += len(text)
        for listener in list(self.listeners):
            try:
                listener(text)
            except Exception:  # one listener's bug must not stop the others
                continue
