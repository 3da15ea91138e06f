"""The board's WiFi: scan, connect (and wait), status, disconnect, forget, access point.

Passwords go to the board inside one short exec whose output is only ever "ok" or an
error's name, and are never shown, logged or kept: every message that could carry board
text passes through `redact` first. Board code: helpers/wifi_*.py.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..board.helpers import helper_call
from ..board.session import BoardExecError
from ..errors import BoardError, OperationError, UsageError
from .connection import Connection

AUTHMODES = {
    0: "open",
    1: "WEP",
    2: "WPA-PSK",
    3: "WPA2-PSK",
    4: "WPA/WPA2-PSK",
    5: "WPA2-Enterprise",
    6: "WPA3-PSK",
    7: "WPA2/WPA3-PSK",
}
# The ESP8266's station status codes; other ports name theirs in network.STAT_*.
ESP8266_STATUS = {
    "STAT_IDLE": 0,
    "STAT_CONNECTING": 1,
    "STAT_WRONG_PASSWORD": 2,
    "STAT_NO_AP_FOUND": 3,
    "STAT_CONNECT_FAIL": 4,
    "STAT_GOT_IP": 5,
}
FAILURES = {
    "STAT_WRONG_PASSWORD": "wrong password for {ssid}",
    "STAT_NO_AP_FOUND": "no access point named {ssid} found",
    "STAT_CONNECT_FAIL": "connecting to {ssid} failed",
    "STAT_ASSOC_FAIL": "{ssid} refused the association",
    "STAT_HANDSHAKE_TIMEOUT": "the handshake with {ssid} timed out (wrong password?)",
    "STAT_BEACON_TIMEOUT": "{ssid} stopped answering (beacon timeout)",
}
NO_WIFI = "this board has no WiFi (no network module)"
DEFAULT_TIMEOUT = 15.0


class WifiError(OperationError):
    """A WiFi step failed on the board (or the board has no WiFi)."""


def redact(text: str, *secrets: str | None) -> str:
    """Text with every secret replaced by asterisks."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def _run(conn: Connection, name: str, call: str, secret: str | None = None) -> str:
    """Run WiFi helper `name` as `call`; what it printed. Errors are WifiError, redacted."""
    return _ask(conn, name, call, secret, value=False)


def _value(conn: Connection, name: str, call: str) -> Any:
    """Run WiFi helper `name` as `call`; the value whose repr() it printed."""
    return _ask(conn, name, call, None, value=True)


def _ask(conn: Connection, name: str, call: str, secret: str | None, value: bool) -> Any:
    code = helper_call(name, call)
    try:
        with conn.using() as board:
            return board.exec_value(code) if value else board.exec_capture(code)
    except BoardExecError as exc:
        if exc.ename == "ImportError":
            raise WifiError(NO_WIFI) from None
        raise WifiError(f"WiFi: the board said {redact(str(exc), secret)}") from None
    except BoardError as exc:
        raise WifiError(f"WiFi: {redact(str(exc), secret)}") from None
    finally:
        del code


@dataclass
class Network:
    """One access point found by a scan."""

    ssid: str
    bssid: str
    channel: int
    rssi: int
    authmode: int
    hidden: bool

    @property
    def security(self) -> str:
        return AUTHMODES.get(self.authmode, f"authmode {self.authmode}")

    @property
    def name(self) -> str:
        return self.ssid or "(hidden)"


def bars(rssi: int) -> str:
    """Signal strength as 1-4 bars."""
    n = 4 if rssi >= -55 else 3 if rssi >= -67 else 2 if rssi >= -78 else 1
    return "▂▄▆█"[:n] + " " * (4 - n)


def scan(conn: Connection) -> list[Network]:
    """Scan (activating the station if needed); strongest first."""
    nets = []
    for entry in _value(conn, "wifi_scan", "_mpk_ws()"):
        ssid, bssid, channel, rssi, authmode, hidden = entry[:6]
        nets.append(
            Network(
                ssid=ssid.decode("utf-8", "replace") if isinstance(ssid, bytes) else str(ssid),
                bssid=":".join(f"{b:02x}" for b in bssid) if isinstance(bssid, bytes) else "",
                channel=int(channel),
                rssi=int(rssi),
                authmode=int(authmode),
                hidden=bool(hidden),
            )
        )
    return sorted(nets, key=lambda n: n.rssi, reverse=True)


def status_names(conn: Connection) -> dict[int, str]:
    """Station status code -> STAT_ name: the board's own constants, else the ESP8266's."""
    consts = _value(conn, "wifi_status_names", "_mpk_wk()") or ESP8266_STATUS
    return {int(v): k for k, v in consts.items() if isinstance(v, int)}


def require_network(conn: Connection) -> None:
    """WifiError unless the board has a network module."""
    _run(conn, "wifi_check", "_mpk_wn()")


def start_connect(conn: Connection, ssid: str, key: str) -> None:
    """Start connecting the station; the key goes in a snippet whose output is swallowed."""
    out = _run(conn, "wifi_connect", f"_mpk_wc({ssid!r}, {key!r})", secret=key).strip()
    if out != "ok":
        raise WifiError(f"connecting to {ssid} failed on the board ({redact(out, key)[:60]})")


def poll(conn: Connection) -> tuple[int | None, bool]:
    """(status code or None, isconnected)."""
    code, connected = _value(conn, "wifi_poll", "_mpk_wp()")
    return code, bool(connected)


@dataclass
class Outcome:
    """How a connection attempt ended."""

    ok: bool
    message: str


def wait_connected(
    conn: Connection,
    ssid: str,
    timeout: float,
    tick: Callable[[float, str], None] | None = None,
) -> Outcome:
    """Poll the station until it has an IP, fails, or `timeout` seconds pass."""
    names = status_names(conn)
    start = time.monotonic()
    code: int | None = None
    name = ""
    while True:
        code, connected = poll(conn)
        name = names.get(code, "") if code is not None else ""
        if connected or name == "STAT_GOT_IP":
            return Outcome(True, f"Connected to {ssid}.")
        if name in FAILURES:
            return Outcome(False, FAILURES[name].format(ssid=ssid))
        elapsed = time.monotonic() - start
        if tick:
            tick(elapsed, name or "waiting")
        if elapsed >= timeout:
            break
        time.sleep(0.25)
    if code is None:
        why = "this board's status() does not say why"
    elif name:
        why = f"status {name[5:]}"
    else:
        why = f"status code {code}, which mpkernel does not know for this board"
    return Outcome(False, f"not connected to {ssid} after {timeout:g} s ({why})")


def connect(
    conn: Connection,
    ssid: str,
    key: str,
    timeout: float = DEFAULT_TIMEOUT,
    tick: Callable[[float, str], None] | None = None,
) -> Outcome:
    """Connect and wait; on failure the station is told to stop trying."""
    if not ssid:
        raise UsageError("Which network? Usage: %wifi connect SSID (see %wifi scan).")
    if timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds.")
    start_connect(conn, ssid, key)
    del key
    outcome = wait_connected(conn, ssid, timeout, tick)
    if not outcome.ok:
        with contextlib.suppress(WifiError):
            disconnect(conn)
    return outcome


def disconnect(conn: Connection) -> None:
    """Leave the network (the network saved for boot stays)."""
    _run(conn, "wifi_disconnect", "_mpk_wd(False)")


def forget(conn: Connection) -> bool:
    """Disconnect and clear the network saved for boot; False where the board cannot clear
    it (its station is turned off instead, so it does not reconnect)."""
    return _run(conn, "wifi_disconnect", "_mpk_wd(True)").strip() == "cleared"


def info(conn: Connection, interface: str = "STA_IF") -> dict[str, Any]:
    """What the board tells about one interface ("STA_IF" or "AP_IF")."""
    data = _value(conn, "wifi_info", f"_mpk_wi({interface!r})")
    return data if isinstance(data, dict) else {}


def ip_address(data: dict[str, Any]) -> str:
    """The IPv4 address in info(), or "?"."""
    if isinstance(data.get("ifconfig"), tuple) and data["ifconfig"]:
        return str(data["ifconfig"][0])
    if isinstance(data.get("addr4"), tuple) and data["addr4"]:
        return str(data["addr4"][0])
    return "?"


def access_point(
    conn: Connection, on: bool, essid: str | None = None, key: str | None = None
) -> None:
    """Turn the board's access point on (WPA2 with `key`, open if None) or off."""
    if on and key is not None and len(key) < 8:
        raise UsageError("WPA2 needs a password of at least 8 characters.")
    call = f"_mpk_wa({on!r}, {essid!r}, {key!r})"
    out = _run(conn, "wifi_ap", call, secret=key).strip()
    del call, key
    if out != "ok":
        what = "setting up the access point" if on else "turning the access point off"
        raise WifiError(f"{what} failed on the board ({out[:60]})")


# -- the password lint -----------------------------------------------------------------------

_CONNECT_LITERAL = re.compile(
    r"\.connect\(\s*[rbuRBU]?(['\"]).*?\1\s*,\s*(?:key\s*=\s*|password\s*=\s*)?[rbuRBU]?(['\"])"
)
PASSWORD_HINT = (
    "Hint: this cell has a WiFi password in it, which is saved with the notebook. "
    "%wifi connect SSID asks for it in a hidden prompt instead "
    "(or reads it from a variable: --password-from-env VAR).\n"
)


def password_in_code(code: str) -> bool:
    """Whether cell code writes a WiFi password as a literal (`.connect('ssid', 'pw')`)."""
    return bool(_CONNECT_LITERAL.search(code))
