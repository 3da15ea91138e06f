"""Reading package descriptions and files over HTTP(S) on the host, with one-line errors.

Every read is bounded: in size (a file bigger than the board's free flash cannot be
installed, so reading on is pointless), and in time by a deadline for the whole install
(a server that trickles a byte at a time never ends a read-by-read timeout).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from .mip import LibraryError

TIMEOUT = 20.0  # seconds without an answer before a read gives up
USER_AGENT = "mpkernel-mip"
MAX_JSON = 1_000_000  # a package description is a few hundred bytes
CHUNK = 64 * 1024


class Budget:
    """What one install may still read: bytes per file and time in all (a deadline)."""

    def __init__(self, seconds: float, max_file: int) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.max_file = max_file

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def over_time(self, what: str) -> LibraryError:
        return LibraryError(
            f"{what}: the install took longer than {self.seconds:g} s and was stopped, "
            "nothing written (a slow server? %mip install --timeout SECONDS gives it longer)."
        )


class NotFound(LibraryError):
    """The server answered 404 (or a local index has no such file): no such package,
    version or file."""


class Unreachable(LibraryError):
    """No answer from the server: this computer is offline, or its network blocks it."""


def fetch(url: str, what: str, budget: Budget, limit: int | None = None) -> bytes:
    """The bytes at url, at most `limit` (default: the budget's file size) and within the
    budget's deadline; `what` names the package in errors."""
    limit = budget.max_file if limit is None else limit
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    timeout = min(TIMEOUT, budget.left())
    if timeout <= 0:
        raise budget.over_time(what)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return _read(answer, url, what, budget, limit)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise NotFound(f"{what}: not found ({url}).") from None
        raise LibraryError(
            f"{what}: the server answered {exc.code} {exc.reason} for {url}."
        ) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError) and budget.left() <= 0:
            raise budget.over_time(what) from None
        if url.startswith("file:") and isinstance(exc.reason, FileNotFoundError):
            raise NotFound(f"{what}: not found ({url}).") from None
        reason = exc.reason if not isinstance(exc.reason, OSError) else _why(exc.reason)
        raise Unreachable(
            f"{what}: cannot reach {_host(url)} ({reason}): is this computer online?"
        ) from None
    except TimeoutError:
        if budget.left() <= 0:
            raise budget.over_time(what) from None
        raise Unreachable(f"{what}: {_host(url)} did not answer within {timeout:.0f} s.") from None
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{what}: cannot read {url} ({exc}).") from None


def _read(answer: Any, url: str, what: str, budget: Budget, limit: int) -> bytes:
    """The answer's body, piece by piece, each wait no longer than the time left."""
    too_big = LibraryError(
        f"{what}: {url} is bigger than {limit:,} bytes (the board's free flash): not installed."
    )
    length = answer.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        raise too_big
    sock = getattr(getattr(answer.fp, "raw", None), "_sock", None)  # http.client's socket
    data = bytearray()
    while True:
        left = budget.left()
        if left <= 0:
            raise budget.over_time(what)
        if sock is not None:
            sock.settimeout(min(TIMEOUT, left))
        piece = answer.read1(CHUNK)
        if not piece:
            return bytes(data)
        data += piece
        if len(data) > limit:
            raise too_big


def fetch_json(url: str, what: str, budget: Budget) -> Any:
    """The JSON document at url."""
    data = fetch(url, what, budget, MAX_JSON)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LibraryError(f"{what}: {url} is not JSON (is the index URL right?).") from None


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0] or url


def _why(error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return "name not found"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "timed out"
    return error.strerror or str(error)
