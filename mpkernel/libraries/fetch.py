"""Reading package descriptions and files over HTTP(S) on the host, with one-line errors."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

from .mip import LibraryError

TIMEOUT = 20.0  # seconds without an answer before a read gives up
USER_AGENT = "mpkernel-mip"


class NotFound(LibraryError):
    """The server answered 404: no such package, version or file."""


def fetch(url: str, what: str, timeout: float = TIMEOUT) -> bytes:
    """The bytes at url; `what` names the package in errors."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise NotFound(f"{what}: not found ({url}).") from None
        raise LibraryError(
            f"{what}: the server answered {exc.code} {exc.reason} for {url}."
        ) from None
    except urllib.error.URLError as exc:
        reason = exc.reason if not isinstance(exc.reason, OSError) else _why(exc.reason)
        raise LibraryError(
            f"{what}: cannot reach {_host(url)} ({reason}): is this computer online?"
        ) from None
    except TimeoutError:
        raise LibraryError(f"{what}: {_host(url)} did not answer within {timeout:.0f} s.") from None
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{what}: cannot read {url} ({exc}).") from None


def fetch_json(url: str, what: str) -> Any:
    """The JSON document at url."""
    data = fetch(url, what)
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
