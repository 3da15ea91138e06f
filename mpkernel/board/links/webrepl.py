"""A board over WebREPL: MicroPython's REPL on a WebSocket (ESP8266/ESP32 firmware, port 8266).

Text frames carry REPL bytes both ways (the board's may be invalid UTF-8: they stay bytes);
binary frames carry the file protocol (see webrepl_files). A reader thread collects the
frames, so `read(timeout)` never cuts a frame in half. The password is kept only in memory,
to log in again after a soft reset (which drops the socket on real boards); it never
appears in a message.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .transport import Transport, TransportError

if TYPE_CHECKING:
    import websocket  # websocket-client: imported where a WebREPL is first used

try:  # the send queue's length is known on Linux (TIOCOUTQ); elsewhere it stays unknown
    import fcntl
    import termios

    OUTQ_KNOWN = hasattr(termios, "TIOCOUTQ")
except ImportError:  # Windows
    OUTQ_KNOWN = False

DEFAULT_PORT = 8266
#: Text frames larger than this may be truncated by the firmware's stdin buffer.
FRAME_MAX = 255
#: Pause between the frames of one large write, when the REPL has no flow control.
FRAME_PAUSE = 0.005
CONNECT_TIMEOUT = 5.0
LOGIN_TIMEOUT = 5.0
SOFT_REBOOT = b"soft reboot"  # what the firmware prints as it soft-resets
#: WebSocket frame opcodes (RFC 6455).
TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8


class LinkStalled(TransportError):
    """Nothing moved on the link for longer than a transfer allows."""


def is_webrepl_url(target: str) -> bool:
    return target.lower().startswith(("ws://", "wss://"))


def parse_url(url: str) -> tuple[str, int, str]:
    """(host, port, normalised URL) of ws://HOST[:PORT]; TransportError if malformed."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port or DEFAULT_PORT
    except ValueError:
        host, port = None, 0
    if not host:
        raise TransportError(f"Bad WebREPL address {url!r}: use ws://HOST or ws://HOST:PORT.")
    scheme = parts.scheme.lower()
    shown = f"[{host}]" if ":" in host else host
    return host, port, f"{scheme}://{shown}:{port}/"


class WebReplTransport(Transport):
    """The REPL of a board reached over WebREPL, logged in with its password."""

    kind = "webrepl"
    binary_stdin = False
    stdin_chunk = 3072  # a socket buffers more: fewer round trips on a WiFi link
    retry_hint = "Try again (a weak WiFi link?)."

    def __init__(
        self, url: str, password: str | Callable[[], str], timeout: float = CONNECT_TIMEOUT
    ) -> None:
        """`password` may be a function: it is called once the board asks for the password."""
        self.host, self.port, self._url = parse_url(url)
        self.name = self._url.rstrip("/")
        self._password = password
        self._timeout = timeout
        self._ws: websocket.WebSocket | None = None
        self._cond = threading.Condition()
        self._text = bytearray()
        self._binary = bytearray()
        self._closed = True
        self._lost: str = ""
        #: The last bytes the board sent (to tell a reset from a lost link).
        self.recent = b""
        self._reader: threading.Thread | None = None
        self._connect()

    # -- connecting ---------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _busy(self) -> TransportError:
        return TransportError(
            f"The WebREPL on {self.where} is already in use by another WebREPL client "
            "(it accepts one at a time): close the other one (a browser tab, webrepl_cli, "
            "another notebook) and %connect again."
        )

    def _nothing(self, detail: str = "") -> TransportError:
        return TransportError(
            f"Nothing answers on {self.where}{detail}: is the board on this network and "
            "WebREPL enabled (%webrepl setup)?"
        )

    @staticmethod
    def _refused() -> TransportError:
        return TransportError(
            "WebREPL password refused (Access denied): check it and %connect again."
        )

    def _connect(self) -> None:
        import websocket

        try:
            ws = websocket.create_connection(
                self._url,
                timeout=self._timeout,
                enable_multithread=True,
                skip_utf8_validation=True,
            )
        except ConnectionRefusedError:
            raise self._nothing() from None
        except websocket.WebSocketBadStatusException as exc:
            raise TransportError(
                f"{self.where} answered, but not as a WebREPL (HTTP {exc.status_code}): "
                "check the address and port (8266)."
            ) from None
        except (
            websocket.WebSocketConnectionClosedException,
            ConnectionResetError,
            BrokenPipeError,
        ):
            raise self._busy() from None
        except (TimeoutError, websocket.WebSocketTimeoutException):
            raise self._nothing(" (timed out)") from None
        except (OSError, websocket.WebSocketException) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            if "closed" in str(exc).lower() or "lost" in str(exc).lower():
                raise self._busy() from None
            raise self._nothing(f" ({reason})") from None
        self._ws = ws
        try:
            self._login(ws)
        except BaseException:
            with contextlib.suppress(Exception):
                ws.close(timeout=0.2)
            self._ws = None
            raise
        with self._cond:
            self._closed = False
            self._lost = ""
            self.recent = b""
        self._reader = threading.Thread(target=self._read_loop, name="webrepl-reader", daemon=True)
        self._reader.start()

    def _login(self, ws: websocket.WebSocket) -> None:
        """Answer the password prompt; raise TransportError if refused."""
        import websocket

        seen = bytearray()
        end = time.monotonic() + LOGIN_TIMEOUT
        asked = False
        while True:
            if not asked and seen.endswith(b"Password: "):
                if callable(self._password):  # ask only now that a WebREPL answered
                    self._password = self._password()
                    end = time.monotonic() + LOGIN_TIMEOUT
                ws.send(self._password.encode() + b"\r", TEXT)
                asked = True
                seen.clear()
            if asked and b"WebREPL connected" in seen:
                return
            if asked and b"Access denied" in seen:
                raise self._refused()
            left = end - time.monotonic()
            if left <= 0:
                raise TransportError(
                    f"{self.where} did not "
                    + ("confirm the login" if asked else "ask for the WebREPL password")
                    + " in time: is it a MicroPython WebREPL?"
                )
            ws.settimeout(left)
            try:
                opcode, data = ws.recv_data()
            except (TimeoutError, websocket.WebSocketTimeoutException):
                continue
            except (websocket.WebSocketException, OSError):
                raise (self._refused() if asked else self._busy()) from None
            if opcode == CLOSE:
                raise self._refused() if asked else self._busy()
            if opcode == TEXT:
                seen += data
        # not reached

    def describe(self) -> str:
        """The link, for a connection message."""
        return f"WebREPL at {self.name}"

    def dropped_at_reset(self) -> bool:
        """A soft reset (sys.exit(), machine.soft_reset()) ends the WebREPL socket."""
        return SOFT_REBOOT in self.recent

    def reopen(self, hard: bool) -> bool:
        """Log in again once the board is back: after a chip reset it rejoins WiFi first."""
        if hard:
            self.reconnect(delay=2.0, attempts=30)
        else:
            self.reconnect(delay=1.0)
        return True

    def reconnect(self, delay: float = 1.0, attempts: int = 8) -> None:
        """Log in again (after the board dropped the socket at a reset)."""
        self.close()
        time.sleep(delay)
        for attempt in range(attempts):
            try:
                self._connect()
                return
            except TransportError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5)

    def stalled(self, seconds: float) -> TransportError:
        """A board in its raw REPL answers code at once: silence means WiFi stopped carrying
        bytes (out of range, powered off). The link is closed: whatever the board sends
        later can never be taken for the answer to the next command."""
        self.close()
        return LinkStalled(
            f"The WebREPL link to {self.where} stalled: nothing came back for {seconds:g} s, "
            "so the command stopped waiting (it may still reach the board). Run %connect to "
            "reconnect."
        )

    # -- frames --------------------------------------------------------------------------

    def _read_loop(self) -> None:
        ws = self._ws
        assert ws is not None
        ws.settimeout(None)
        reason = ""
        try:
            while True:
                opcode, data = ws.recv_data()
                _ack_now(ws.sock)
                if opcode == TEXT:
                    with self._cond:
                        self._text += data
                        self.recent = (self.recent + data)[-64:]
                        self._cond.notify_all()
                elif opcode == BINARY:
                    with self._cond:
                        self._binary += data
                        self._cond.notify_all()
                elif opcode == CLOSE:
                    reason = "the board closed the connection"
                    break
        except Exception as exc:  # closed socket, reset, ...
            reason = f"the connection dropped ({type(exc).__name__})"
        with self._cond:
            if not self._closed:
                self._lost = reason or "the connection dropped"
            self._closed = True
            self._cond.notify_all()

    def _gone(self) -> TransportError:
        why = self._lost or "not connected"
        return TransportError(
            f"The WebREPL link to {self.where} is gone ({why}: board reset, out of WiFi "
            "range or powered off?). Run %connect to reconnect."
        )

    def _send(self, data: bytes, opcode: int) -> None:
        import websocket

        ws = self._ws
        if ws is None or self._closed:
            raise self._gone()
        try:
            ws.send(data, opcode)
        except (websocket.WebSocketException, OSError) as exc:
            with self._cond:
                self._lost = self._lost or f"sending failed ({type(exc).__name__})"
                self._closed = True
            raise self._gone() from None

    def write(self, data: bytes) -> None:
        """REPL input as text frames of at most FRAME_MAX bytes, paced when there are several.

        One frame (a plain raw-mode command, a raw-paste window) goes without delay. The
        pause splits a 256-byte raw-paste credit: ESP8266's stdin ring buffer holds 255.
        """
        data = bytes(data)
        pos = 0
        while pos < len(data):
            if pos:
                time.sleep(FRAME_PAUSE)
            end = min(pos + FRAME_MAX, len(data))
            # Cut between UTF-8 characters where possible, so each frame stays valid text.
            back = end
            while back > pos + FRAME_MAX - 3 and back < len(data) and data[back] & 0xC0 == 0x80:
                back -= 1
            if back < len(data) and data[back] & 0xC0 != 0x80:
                end = back
            self._send(data[pos:end], TEXT)
            pos = end

    def read(self, timeout: float) -> bytes:
        with self._cond:
            if not self._text and not self._closed and timeout > 0:
                self._cond.wait(timeout)
            if self._text:
                data = bytes(self._text)
                self._text.clear()
                return data
            if self._closed:
                raise self._gone()
            return b""

    def write_binary(self, data: bytes) -> None:
        """One binary frame (the file protocol)."""
        self._send(bytes(data), BINARY)

    def read_binary(self, n: int, timeout: float = 10.0) -> bytes:
        """Exactly n bytes of the binary stream.

        Raises LinkStalled when no byte arrived for `timeout` seconds, TransportError when the
        link is gone.
        """
        end = time.monotonic() + timeout
        with self._cond:
            have = len(self._binary)
            while have < n:
                if self._closed:
                    raise self._gone()
                left = end - time.monotonic()
                if left <= 0:
                    raise LinkStalled(
                        f"The WebREPL link to {self.where} stalled: nothing arrived for "
                        f"{timeout:g} s."
                    )
                self._cond.wait(left)
                if len(self._binary) > have:  # bytes are moving: not stalled
                    have = len(self._binary)
                    end = time.monotonic() + timeout
            data = bytes(self._binary[:n])
            del self._binary[:n]
            return data

    def unsent(self) -> int | None:
        """Bytes written but not yet acknowledged by the board's TCP (None: unknown here)."""
        ws = self._ws
        sock = getattr(ws, "sock", None) if ws is not None else None
        if sock is None or not OUTQ_KNOWN:
            return None
        try:
            buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return None
        return int.from_bytes(buf, sys.byteorder)

    def clear_binary(self) -> None:
        with self._cond:
            self._binary.clear()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.send_close()
            with contextlib.suppress(Exception):
                ws.shutdown()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(1.0)
        with self._cond:
            self._text.clear()
            self._binary.clear()


def _ack_now(sock: socket.socket | None) -> None:
    """Acknowledge what arrived at once (Linux: TCP_QUICKACK, which lapses, so it is set
    again after every read). A board's lwIP keeps Nagle's algorithm on: what the REPL
    prints after `OK` waits until `OK` is acknowledged, and a delayed ACK costs 40 ms."""
    if sock is not None and _QUICKACK is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
