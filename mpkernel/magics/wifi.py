"""WiFi magics: %wifi scan, connect, status, disconnect, ap, forget; alone, a widget panel.

Passwords come from `secrets.ask_secret` (hidden prompt or environment variable), go to the
board inside one short exec whose output is swallowed, and are never shown, logged or kept:
every message that could carry board text passes through `redact` first.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.display import display

from ..board.session import BoardError, BoardExecError
from ..secrets import ask_secret
from ..widgets.progress import Progress
from .registry import MagicError, arg, magic

if TYPE_CHECKING:
    from ..kernel import MicroPythonKernel

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
PERSIST_NOTE = (
    "Note: the board saved this network and reconnects to it at every boot "
    "(ESP8266 keeps it in flash). %wifi forget disconnects and clears it.\n"
)
NO_WIFI = "this board has no WiFi (no network module)"
DEFAULT_TIMEOUT = 15.0

# -- board-side snippets (small: a tiny ESP8266 has ~30 KB of heap) -------------------------

# (`hide=network` on the virtual board leaves None in sys.modules: that is no module too)
_IMPORT = "import network as _mpkn\nif _mpkn is None:raise ImportError\n"
_INFO = (
    _IMPORT
    + """def _mpkw(i):
 w=_mpkn.WLAN(i);d={'active':w.active()}
 for k in ('isconnected','status','ifconfig'):
  try:d[k]=getattr(w,k)()
  except Exception:pass
 for k in ('essid','authmode','channel','hidden','hostname'):
  try:d[k]=w.config(k)
  except Exception:pass
 try:d['rssi']=w.status('rssi')
 except Exception:pass
 if 'ifconfig' not in d:
  try:d['addr4']=w.ipconfig('addr4')
  except Exception:pass
  try:d['dns']=_mpkn.ipconfig('dns')
  except Exception:pass
 return d
"""
)
_SCAN = (
    _IMPORT
    + """_mpkw=_mpkn.WLAN(_mpkn.STA_IF)
if not _mpkw.active():_mpkw.active(True)
print(repr(_mpkw.scan()))
del _mpkw,_mpkn
"""
)
_CONSTANTS = (
    _IMPORT
    + "print(repr(dict((k,getattr(_mpkn,k)) for k in dir(_mpkn) if k[:5]=='STAT_')))\ndel _mpkn\n"
)
_CONNECT = (
    _IMPORT
    + """_mpkw=_mpkn.WLAN(_mpkn.STA_IF)
try:
 _mpkw.active(True)
 try:_mpkw.disconnect()
 except Exception:pass
 _mpkw.connect({ssid},{key})
 print('ok')
except Exception as e:
 print(type(e).__name__)
del _mpkw,_mpkn
"""
)
_POLL = (
    _IMPORT
    + """def _mpkw():
 w=_mpkn.WLAN(_mpkn.STA_IF)
 try:s=w.status()
 except Exception:s=None
 return (s,w.isconnected())
print(repr(_mpkw()))
del _mpkw,_mpkn
"""
)
_DISCONNECT = (
    _IMPORT
    + """_mpkw=_mpkn.WLAN(_mpkn.STA_IF)
_mpkw.disconnect()
del _mpkw,_mpkn
"""
)
_FORGET = (
    _IMPORT
    + """_mpkw=_mpkn.WLAN(_mpkn.STA_IF)
try:_mpkw.disconnect()
except Exception:pass
try:
 _mpkw.config(ssid='',key='');print('cleared')
except Exception:
 print('off')
_mpkw.active(False)
del _mpkw,_mpkn
"""
)
_AP = (
    _IMPORT
    + """_mpkw=_mpkn.WLAN(_mpkn.AP_IF)
try:
 _mpkw.active({on})
 {config}
 print('ok')
except Exception as e:
 print(type(e).__name__)
del _mpkw,_mpkn
"""
)


# -- talking to the board --------------------------------------------------------------------


def redact(text: str, *secrets: str | None) -> str:
    """Text with every secret replaced by asterisks."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


def board_call(
    kernel: MicroPythonKernel,
    code: str,
    secret: str | None = None,
    literal: bool = False,
) -> Any:
    """Run a snippet under the board lock; its printed text (or, with literal, value).

    Board errors become MagicError, with any secret removed; a missing network module is
    reported as 'no WiFi'.
    """
    board = kernel.require_board()
    try:
        with kernel.board_lock:
            out = board.exec_capture(code)
    except BoardExecError as exc:
        if exc.ename == "ImportError":
            raise MagicError(NO_WIFI) from None
        raise MagicError(f"WiFi: the board said {redact(str(exc), secret)}") from None
    except BoardError as exc:
        raise MagicError(f"WiFi: {redact(str(exc), secret)}") from None
    if not literal:
        return out
    try:
        return ast.literal_eval(out.strip())
    except (ValueError, SyntaxError):
        raise MagicError(f"WiFi: unexpected answer from the board: {out.strip()[:80]}") from None


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


def scan(kernel: MicroPythonKernel) -> list[Network]:
    """Scan (activating the station if needed); strongest first."""
    found = board_call(kernel, _SCAN, literal=True)
    nets = []
    for entry in found:
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


def scan_bundle(nets: list[Network]) -> dict[str, str]:
    """The scan as a text table and an HTML table."""
    head = ("SSID", "BSSID", "Channel", "RSSI", "Security", "Hidden")
    rows = [
        (
            n.name,
            n.bssid,
            str(n.channel),
            f"{n.rssi} dBm {bars(n.rssi)}",
            n.security,
            "yes" if n.hidden else "",
        )
        for n in nets
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    cells = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    table = f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
    summary = f"{len(nets)} network(s) found."
    return {
        "text/plain": "\n".join(lines) + "\n" + summary,
        "text/html": table + f"<p>{summary}</p>",
    }


def status_names(kernel: MicroPythonKernel) -> dict[int, str]:
    """Station status code -> STAT_ name: the board's own constants, else the ESP8266's."""
    consts = board_call(kernel, _CONSTANTS, literal=True)
    if not consts:
        consts = ESP8266_STATUS
    return {int(v): k for k, v in consts.items() if isinstance(v, int)}


def send_connect(kernel: MicroPythonKernel, ssid: str, key: str) -> None:
    """Start connecting the station; the key goes in a snippet whose output is swallowed."""
    code = _CONNECT.format(ssid=repr(ssid), key=repr(key))
    out = board_call(kernel, code, secret=key).strip()
    del code
    if out != "ok":
        raise MagicError(f"connecting to {ssid} failed on the board ({redact(out, key)[:60]})")


def poll(kernel: MicroPythonKernel) -> tuple[int | None, bool]:
    """(status code or None, isconnected)."""
    code, connected = board_call(kernel, _POLL, literal=True)
    return code, bool(connected)


@dataclass
class Outcome:
    """How a connection attempt ended."""

    ok: bool
    message: str


def wait_connected(
    kernel: MicroPythonKernel,
    ssid: str,
    timeout: float,
    tick: Callable[[float, str], None] | None = None,
) -> Outcome:
    """Poll the station until it has an IP, fails, or `timeout` seconds pass."""
    names = status_names(kernel)
    start = time.monotonic()
    code: int | None = None
    while True:
        code, connected = poll(kernel)
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


def require_network(kernel: MicroPythonKernel) -> None:
    """MagicError unless the board has a network module."""
    board_call(kernel, _IMPORT + "del _mpkn\n")


def disconnect_station(kernel: MicroPythonKernel) -> None:
    board_call(kernel, _DISCONNECT)


def info(kernel: MicroPythonKernel, interface: str = "STA_IF") -> dict[str, Any]:
    """What the board tells about one interface (see _INFO)."""
    code = _INFO + f"print(repr(_mpkw(_mpkn.{interface})))\ndel _mpkw,_mpkn\n"
    data = board_call(kernel, code, literal=True)
    return data if isinstance(data, dict) else {}


def ip_lines(data: dict[str, Any]) -> list[str]:
    """IP configuration lines from info(): ifconfig() where there is one, else ipconfig()."""
    if isinstance(data.get("ifconfig"), tuple) and len(data["ifconfig"]) == 4:
        addr, mask, gw, dns = data["ifconfig"]
        return [f"  address {addr}", f"  netmask {mask}", f"  gateway {gw}", f"  DNS     {dns}"]
    lines = []
    if isinstance(data.get("addr4"), tuple) and len(data["addr4"]) == 2:
        lines += [f"  address {data['addr4'][0]}", f"  netmask {data['addr4'][1]}"]
    if data.get("dns"):
        lines.append(f"  DNS     {data['dns']}")
    return lines or ["  (this board reports no IP configuration: no ifconfig() or ipconfig())"]


def connect_and_report(
    kernel: MicroPythonKernel,
    ssid: str,
    key: str,
    timeout: float,
    progress: bool = True,
) -> Outcome:
    """Connect, wait (with a progress display), and on failure stop the station trying."""
    send_connect(kernel, ssid, key)
    del key
    bar = Progress(f"Connecting to {ssid}", int(timeout), unit="s") if progress else None

    def tick(elapsed: float, state: str) -> None:
        if bar:
            bar.update(min(int(elapsed), int(timeout)))

    outcome = wait_connected(kernel, ssid, timeout, tick)
    if bar:
        bar.finish(outcome.message, ok=outcome.ok)
    if not outcome.ok:
        with contextlib.suppress(MagicError):
            disconnect_station(kernel)
    return outcome


# -- the magic ---------------------------------------------------------------------------------


@magic("wifi")
@arg(
    "action",
    nargs="?",
    choices=("scan", "connect", "status", "disconnect", "ap", "forget"),
    help="what to do; none: open the WiFi panel (widgets)",
)
@arg("target", nargs="?", help="connect: the network's SSID; ap: on or off")
@arg("--password-from-env", metavar="VAR", help="read the password from this variable")
@arg("--timeout", type=float, default=DEFAULT_TIMEOUT, help="connect: seconds to wait")
@arg("--essid", help="ap on: the access point's name")
@arg("--open", action="store_true", help="ap on: no password (an open network)")
def wifi_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Set up the board's WiFi: scan, connect SSID, status, disconnect, ap on|off, forget.

    %wifi scan                 networks around the board, strongest first
    %wifi connect SSID         asks for the password in a hidden prompt (never saved);
                               --password-from-env VAR reads it from $VAR instead
    %wifi status               station and access point state, IP configuration
    %wifi disconnect           leave the network (the saved network stays)
    %wifi ap on|off            the board's own access point; on asks for a password
                               (--open: none; --essid NAME names it)
    %wifi forget               disconnect and clear the network saved for boot
    %wifi                      a panel: pick a network, type the password, connect
    """
    action = args.action
    if action is None:
        from ..widgets.wifi import WifiPanel

        require_network(kernel)
        panel = WifiPanel(kernel)
        panel.rescan()
        display(panel)
    elif action == "scan":
        display(scan_bundle(scan(kernel)), raw=True)
    elif action == "connect":
        _connect(kernel, args)
    elif action == "status":
        _status(kernel)
    elif action == "disconnect":
        disconnect_station(kernel)
        kernel.say("Disconnected the station (the network saved for boot stays: %wifi forget).\n")
    elif action == "ap":
        _ap(kernel, args)
    elif action == "forget":
        out = board_call(kernel, _FORGET).strip()
        if out == "cleared":
            kernel.say("Disconnected and cleared the saved network: the board won't reconnect.\n")
        else:
            kernel.say(
                "Disconnected and turned the station off, so it won't reconnect at boot "
                "(this board cannot clear its saved network; connecting elsewhere replaces it).\n"
            )


def _connect(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    ssid = args.target
    if not ssid:
        raise MagicError("Which network? Usage: %wifi connect SSID (see %wifi scan).")
    if args.timeout <= 0:
        raise MagicError("--timeout must be a positive number of seconds.")
    kernel.require_board()
    require_network(kernel)  # no network module: say so before asking
    key = ask_secret(
        kernel,
        f"WiFi password for {ssid}: ",
        from_env=args.password_from_env,
        default_env="MPKERNEL_WIFI_PASSWORD",
    )
    outcome = connect_and_report(kernel, ssid, key, args.timeout)
    del key
    if not outcome.ok:
        raise MagicError(outcome.message[0].upper() + outcome.message[1:] + ".")
    data = info(kernel)
    lines = [outcome.message, *ip_lines(data)]
    kernel.say("\n".join(lines) + "\n" + PERSIST_NOTE)


def _describe(title: str, data: dict[str, Any], station: bool) -> list[str]:
    if not data.get("active"):
        return [f"{title}: off"]
    lines = [f"{title}: on"]
    if station:
        connected = data.get("isconnected")
        state = "connected" if connected else "not connected"
        if data.get("essid"):
            state += f" ({'to' if connected else 'saved network'} {data['essid']})"
        lines.append(f"  {state}")
        if "rssi" in data:
            lines.append(f"  RSSI    {data['rssi']} dBm {bars(int(data['rssi']))}")
    else:
        if data.get("essid"):
            lines.append(f"  ESSID   {data['essid']}")
        if "authmode" in data:
            lines.append(f"  security {AUTHMODES.get(data['authmode'], data['authmode'])}")
    return lines + ip_lines(data)


def _status(kernel: MicroPythonKernel) -> None:
    sta = info(kernel, "STA_IF")
    try:
        ap = info(kernel, "AP_IF")
    except MagicError:
        ap = {}
    lines = _describe("Station (STA_IF)", sta, True)
    lines += _describe("Access point (AP_IF)", ap, False) if ap else ["Access point: none"]
    kernel.say("\n".join(lines) + "\n")


def _ap(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    state = (args.target or "").lower()
    if state not in ("on", "off"):
        raise MagicError("Usage: %wifi ap on|off [--essid NAME] [--open|--password-from-env VAR]")
    if state == "off":
        out = board_call(kernel, _AP.format(on="False", config="pass")).strip()
        if out != "ok":
            raise MagicError(f"turning the access point off failed ({out[:60]})")
        kernel.say("Access point off.\n")
        return
    require_network(kernel)
    essid = f"essid={args.essid!r}," if args.essid else ""
    key = None
    if args.open:
        config = f"_mpkw.config({essid}authmode=0)"
    else:
        key = ask_secret(
            kernel,
            "Password for the board's access point (8+ characters): ",
            from_env=args.password_from_env,
            default_env="MPKERNEL_AP_PASSWORD",
        )
        if len(key) < 8:
            raise MagicError("WPA2 needs a password of at least 8 characters.")
        config = f"_mpkw.config({essid}password={key!r},authmode=3)"
    out = board_call(kernel, _AP.format(on="True", config=config), secret=key).strip()
    del key, config
    if out != "ok":
        raise MagicError(f"setting up the access point failed on the board ({out[:60]})")
    data = info(kernel, "AP_IF")
    lines = ["Access point on.", *_describe("Access point", data, False)[1:]]
    kernel.say("\n".join(lines) + "\n")


# -- the one-time hint ---------------------------------------------------------------------------

_CONNECT_LITERAL = re.compile(
    r"\.connect\(\s*[rbuRBU]?(['\"]).*?\1\s*,\s*(?:key\s*=\s*|password\s*=\s*)?[rbuRBU]?(['\"])"
)
_hinted = False


def password_hint(code: str) -> str | None:
    """A hint, once per kernel, when a cell writes a WiFi password into the notebook."""
    global _hinted
    if _hinted or not _CONNECT_LITERAL.search(code):
        return None
    _hinted = True
    return (
        "Hint: this cell has a WiFi password in it, which is saved with the notebook. "
        "%wifi connect SSID asks for it in a hidden prompt instead "
        "(or reads it from a variable: --password-from-env VAR).\n"
    )
