"""A board plugged into the browser's computer: the page opened it with Web Serial, and the
Jupyter server relays its bytes to this kernel (BROWSER_LINK.md; mpkernel/serverext).

The kernel's end is a Unix socket beside the kernel's connection file. A reader thread
takes the page's frames: board bytes, the acknowledgements of requests, the link's end.
Waits for the page have deadlines; a page that stops answering, closes or loses the board
ends the link with one line (TransportError).

Besides the Transport interface it offers what a pyserial-like port object needs (esptool):
write(), read(timeout), set_signals(dtr, rts), set_baud(rate), in_waiting, reset_input().
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections import deque
from pathlib import Path

from . import link_frames as lf
from .transport import Transport, TransportError
from .unix_address import unix_address

#: Seconds for the page's hello once the kernel connected.
HELLO_TIMEOUT = 5.0
#: Seconds for the page to answer a request that does not wait on the board (signals, a
#: liveness check); requests that write to the board get the time the bytes take on top.
ANSWER_TIMEOUT = 5.0
#: Seconds a write may block before the page counts as gone (the server stopped reading).
SEND_TIMEOUT = 10.0
#: Bytes the reader takes from the socket at once.
RECV_SIZE = 256 * 1024

NO_PAGE = (
    "No page holds a board for this kernel: click 'Connect a board on this computer' in the "
    "board panel (Chrome or Edge), pick the port, then run %connect browser again."
)
NOT_IN_KERNEL = (
    "%connect browser works in a kernel started by a Jupyter server (JupyterLab, Notebook, "
    "JupyterHub): this process is not one."
)
PAGE_SILENT = (
    "The page holding the board stopped answering ({what}): the tab may be frozen or the "
    "network down. The link is dropped: connect the board again with the board panel's button."
)
LINK_CLOSED = (
    "The link to the page closed (the Jupyter server stopped?): connect the board again with "
    "the board panel's button."
)
OUT_OF_ORDER = (
    "The page sent {what} that the kernel did not ask for: the link is dropped. Reload the "
    "page and connect the board again."
)


def page_holds_link() -> bool:
    """Whether a page holds a board for the kernel this process runs (its link's socket is
    there: the server makes it while a page holds the link)."""
    try:
        from ipykernel.connect import get_connection_file

        return lf.socket_path(get_connection_file()).exists()
    except (ImportError, RuntimeError, OSError):
        return False


class BrowserSerialTransport(Transport):
    """A serial port opened by the page, reached through the Jupyter server's relay."""

    kind = "browser-serial"
    retry_hint = "Check the board's cable on your computer and try again."

    @classmethod
    def for_this_kernel(cls, baudrate: int = 115200) -> BrowserSerialTransport:
        """The link of the kernel this process runs: the socket beside its connection file."""
        try:
            from ipykernel.connect import get_connection_file

            connection_file = get_connection_file()
        except (ImportError, RuntimeError, OSError):
            raise TransportError(NOT_IN_KERNEL) from None
        return cls(lf.socket_path(connection_file), baudrate)

    def __init__(self, path: str | Path, baudrate: int = 115200) -> None:
        self.name = "browser"
        self.path = Path(path)
        self.baudrate = baudrate
        self.info: dict[str, object] = {}
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._buffer = bytearray()
        self._lost = ""
        self._closed = False
        self._sent = dict.fromkeys(lf.ACK_OF.values(), 0)  # requests sent, by their ack
        self._acked = dict.fromkeys(lf.ACK_OF.values(), 0)
        self._baud_answers: deque[bytes] = deque()
        self._dtr = self._rts = False
        self._sock = self._connect()
        self._reader = threading.Thread(target=self._read_frames, daemon=True, name="mpk-link")
        self._reader.start()
        try:
            self._await_hello()
            if self.info.get("baud") != baudrate:
                self.set_baud(baudrate)
        except BaseException:
            self.close()
            raise

    # -- connecting ---------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(SEND_TIMEOUT)
            with unix_address(self.path) as address:
                sock.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise TransportError(NO_PAGE) from None
        except OSError as exc:
            sock.close()
            raise TransportError(f"Cannot reach the page's link at {self.path}: {exc}.") from None
        option = getattr(socket, "SO_PEERCRED", None)
        if option is not None:
            uid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, 12))[1]
            if uid != os.getuid():
                sock.close()
                raise TransportError(
                    f"The link's socket {self.path} belongs to another user: not used."
                )
        return sock

    def _await_hello(self) -> None:
        end = time.monotonic() + HELLO_TIMEOUT
        with self._cond:
            while not self.info and not self._lost:
                left = end - time.monotonic()
                if left <= 0:
                    self._fail(PAGE_SILENT.format(what="no hello after connecting"))
                self._cond.wait(left)
            if self._lost:
                raise TransportError(self._lost)

    # -- the page's frames --------------------------------------------------------------

    def _recv(self) -> bytes | None:
        """What the socket holds now (at least one byte); None once it closed."""
        while True:
            try:
                chunk = self._sock.recv(RECV_SIZE)
            except TimeoutError:
                if self._closed:
                    return None
                continue
            except OSError:
                return None
            return chunk or None

    def _read_frames(self) -> None:
        """Take the page's frames as they come, every frame a read brought at once (one
        wake-up of the waiting reader for a burst of the board's bytes)."""
        pending = bytearray()
        while True:
            chunk = self._recv()
            if chunk is None:
                self._lose(LINK_CLOSED)
                return
            pending += chunk
            frames = []
            while len(pending) >= lf.LENGTH.size:
                size = lf.LENGTH.unpack_from(pending)[0]
                if not 0 < size <= lf.FRAME_MAX:
                    self._lose(LINK_CLOSED)
                    return
                end = lf.LENGTH.size + size
                if len(pending) < end:
                    break
                frames.append(bytes(pending[lf.LENGTH.size : end]))
                del pending[:end]
            with self._cond:
                for frame in frames:
                    if not self._take(frame):
                        return
                self._cond.notify_all()

    def _take(self, frame: bytes) -> bool:
        """Act on one frame from the page (the caller holds the lock); False once the link
        is over."""
        kind, payload = frame[:1], frame[1:]
        if kind == lf.DATA:
            self._buffer += payload
        elif kind == lf.HELLO:
            self.info = lf.parse_hello(payload) or {"baud": None}
        elif kind in self._acked:
            if self._acked[kind] >= self._sent[kind]:
                self._lose(OUT_OF_ORDER.format(what=f"an answer {kind.decode()!r}"))
                return False
            self._acked[kind] += 1
            if kind == lf.BAUD_SET:
                self._baud_answers.append(payload)
        elif kind == lf.END:
            line = payload.decode("utf-8", "replace").strip().splitlines()
            self._lose(line[0] if line else LINK_CLOSED)
            return False
        else:
            self._lose(OUT_OF_ORDER.format(what=f"a frame of type {kind!r}"))
            return False
        return True

    def _lose(self, line: str) -> None:
        """The link is over: keep the first reason, wake every waiter."""
        with self._cond:
            if not self._lost:
                self._lost = line
            self._cond.notify_all()
        self._shut()

    def _fail(self, line: str) -> None:
        self._lose(line)
        raise TransportError(self._lost)

    def _shut(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    # -- sending ------------------------------------------------------------------------

    def _send(self, frame: bytes) -> None:
        if self._lost:
            raise TransportError(self._lost)
        if self._closed:
            raise TransportError("Not connected: run %connect browser first.")
        with self._send_lock:
            try:
                self._sock.sendall(lf.framed(frame))
            except TimeoutError:
                self._fail(PAGE_SILENT.format(what="it took no bytes for 10 s"))
            except OSError:
                self._fail(self._lost or LINK_CLOSED)

    def _post(self, frame: bytes) -> int:
        """Send a request; the count its answer must reach (see _await)."""
        ack = lf.ACK_OF[frame[:1]]
        with self._cond:
            self._sent[ack] += 1
            wanted = self._sent[ack]
        self._send(frame)
        return wanted

    def _await(self, ack: bytes, wanted: int, what: str, timeout: float) -> None:
        """Wait until the page has answered request number `wanted` (at most `timeout` s)."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._acked[ack] < wanted and not self._lost:
                left = end - time.monotonic()
                if left <= 0:
                    self._fail(PAGE_SILENT.format(what=what))
                self._cond.wait(min(left, 0.2))
            if self._lost:
                raise TransportError(self._lost)

    def _request(self, frame: bytes, what: str, timeout: float) -> None:
        """Send a request and wait for its answer (at most `timeout` s)."""
        self._await(lf.ACK_OF[frame[:1]], self._post(frame), what, timeout)

    def _wire_time(self, nbytes: int) -> float:
        """Seconds `nbytes` take on the board's UART (10 bits a byte), with room to spare."""
        return 3.0 * nbytes * 10 / max(self.baudrate, 300)

    # -- the Transport interface -----------------------------------------------------------

    def write(self, data: bytes) -> None:
        if data:
            self._send(lf.WRITE + bytes(data))

    def read(self, timeout: float) -> bytes:
        end = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            while not self._buffer and not self._lost:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if self._buffer:
                data = bytes(self._buffer)
                self._buffer.clear()
                return data
            if self._lost:
                raise TransportError(self._lost)
            if self._closed:
                raise TransportError("Not connected: run %connect browser first.")
        return b""

    def interrupt(self) -> None:
        """Ctrl-C, written by the page ahead of the writes it still holds."""
        self._send(lf.INTERRUPT)

    def raw_paste(
        self, code: bytes, window: int, then: bytes = b"", credit: int | None = None
    ) -> bool:
        """The page writes `code` in raw-paste windows as the board grants them, then Ctrl-D,
        then `then`: no round trip per window. Returns once the page has written it all.
        The credit the board granted already goes along where the page takes it (a board
        grants two windows at the start: with one, the page would wait for the board's
        grant after every window, its line idle meanwhile)."""
        if not self._has(lf.FEATURE_GRANTED):
            credit = None
        wanted = self._post(lf.paste(window, code, credit))
        if then:
            self._send(lf.WRITE + then)
        what = "a raw-paste of the cell's code"
        self._await(lf.PASTED, wanted, what, ANSWER_TIMEOUT + self._wire_time(len(code)))
        return True

    def write_windowed(self, frames: list[bytes], window: int, ack: bytes) -> bool:
        """The page keeps the window next to the board (no round trip per frame), where its
        hello says it can; the acks reach read() as usual."""
        if not self._has(lf.FEATURE_WINDOWED):
            return False
        self._post(lf.windowed(window, ack, frames))  # answered `f` when written: not waited
        return True

    def _has(self, feature: str) -> bool:
        """Whether the page's hello lists `feature`."""
        features = self.info.get("features")
        return isinstance(features, list) and feature in features

    def write_paced(self, data: bytes, size: int, pause: float) -> None:
        """The page writes `data` in slices of `size` bytes with `pause` s after each."""
        slices = -(-len(data) // max(size, 1))
        timeout = ANSWER_TIMEOUT + slices * pause * 2 + self._wire_time(len(data))
        self._request(lf.paced(size, pause, data), "a paced write", timeout)

    def hard_reset(self) -> bool:
        """Pulse EN low through RTS with GPIO0 (DTR) released: the classic auto-reset circuit."""
        self.set_signals(dtr=False, rts=True)
        time.sleep(0.1)
        self.set_signals(dtr=False, rts=False)
        return True

    def stalled(self, seconds: float) -> TransportError | None:
        """Nothing came back for `seconds`: if the page no longer answers either, the link is
        over (one line); if it does, the board itself is silent (the caller says so)."""
        try:
            self.set_signals(self._dtr, self._rts)  # no change on the port: a liveness check
        except TransportError as exc:
            return exc
        return None

    @property
    def tool_port(self) -> str | None:
        """A flashing tool reaches this board through the link again (mpkernel.flash)."""
        return self.name

    def describe(self) -> str:
        vid, pid = self.info.get("usbVendorId"), self.info.get("usbProductId")
        usb = f", USB {vid:04x}:{pid:04x}" if isinstance(vid, int) and isinstance(pid, int) else ""
        return f"the board on this browser's computer (Web Serial{usb}) at {self.baudrate} baud"

    def release(self) -> None:
        """Let go of the link; the page keeps the port open for the next connect."""
        if not self._closed and not self._lost:
            with contextlib.suppress(TransportError):
                self._send(lf.RELEASE)
        self.close()

    def close(self) -> None:
        self._shut()
        with contextlib.suppress(OSError):
            self._sock.close()

    # -- a serial port's controls (for a pyserial-like port object: esptool) --------------

    def set_signals(self, dtr: bool, rts: bool) -> None:
        """Set DTR and RTS (True: asserted) and wait until the page has set them."""
        self._dtr, self._rts = dtr, rts
        self._request(lf.signals(dtr, rts), "setting DTR/RTS", ANSWER_TIMEOUT)

    def set_baud(self, rate: int) -> None:
        """Reopen the port at `rate` baud; TransportError (one line) if the port refuses."""
        self._request(lf.baud(rate), "changing the baud rate", ANSWER_TIMEOUT + 5.0)
        with self._cond:
            answer = self._baud_answers.popleft() if self._baud_answers else b""
        if answer[:1] != b"\x01":
            why = answer[1:].decode("utf-8", "replace").strip().splitlines()
            reason = f": {why[0]}" if why else ""
            raise TransportError(f"The port on your computer refused {rate} baud{reason}.")
        self.baudrate = rate

    @property
    def in_waiting(self) -> int:
        """Bytes received and not yet read."""
        with self._cond:
            return len(self._buffer)

    def reset_input(self) -> None:
        """Forget the bytes received and not yet read."""
        with self._cond:
            self._buffer.clear()

    def wait_readable(self, timeout: float) -> bool:
        """Whether bytes are waiting, after at most `timeout` s (select-like)."""
        end = time.monotonic() + timeout
        with self._cond:
            while not self._buffer and not self._lost:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return bool(self._buffer)
