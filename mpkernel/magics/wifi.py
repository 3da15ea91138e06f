"""%wifi: scan, connect, status, disconnect, ap, forget; alone, a widget panel.

The WiFi logic is services.wifi; this module parses the arguments, asks for passwords
(`secrets.ask_secret`: hidden prompt or environment variable) and presents the results.
"""

from __future__ import annotations

import argparse
import html
from typing import TYPE_CHECKING, Any

from IPython.display import display

from ..errors import UsageError
from ..services import wifi
from ..services.secrets import ask_secret
from ..services.wifi import AUTHMODES, DEFAULT_TIMEOUT, Network, WifiError, bars
from ..widgets.progress import Progress
from ..widgets.wifi import WifiPanel
from .registry import arg, magic

if TYPE_CHECKING:
    from ..services.context import Context

PERSIST_NOTE = (
    "Note: the board saved this network and reconnects to it at every boot "
    "(ESP8266 keeps it in flash). %wifi forget disconnects and clears it.\n"
)


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
@arg("--open", action="store_true", help="connect, ap on: no password (an open network)")
def wifi_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Set up the board's WiFi: scan, connect SSID, status, disconnect, ap on|off, forget.

    %wifi scan                 networks around the board, strongest first
    %wifi connect SSID         asks for the password in a hidden prompt (never saved);
                               --password-from-env VAR reads it from $VAR instead;
                               --open: an open network, no password asked
    %wifi status               station and access point state, IP configuration
    %wifi disconnect           leave the network (the saved network stays)
    %wifi ap on|off            the board's own access point; on asks for a password
                               (--open: none; --essid NAME names it)
    %wifi forget               disconnect and clear the network saved for boot
    %wifi                      a panel: pick a network, type the password, connect
    """
    conn = kernel.connection
    action = args.action
    if action is None:
        wifi.require_network(conn)
        panel = WifiPanel(kernel)
        panel.rescan()
        display(panel)
    elif action == "scan":
        display(scan_bundle(wifi.scan(conn)), raw=True)
    elif action == "connect":
        _connect(kernel, args)
    elif action == "status":
        _status(kernel)
    elif action == "disconnect":
        wifi.disconnect(conn)
        kernel.say("Disconnected the station (the network saved for boot stays: %wifi forget).\n")
    elif action == "ap":
        _ap(kernel, args)
    elif action == "forget":
        if wifi.forget(conn):
            kernel.say("Disconnected and cleared the saved network: the board won't reconnect.\n")
        else:
            kernel.say(
                "Disconnected and turned the station off, so it won't reconnect at boot "
                "(this board cannot clear its saved network; connecting elsewhere replaces it).\n"
            )


def _connect(kernel: Context, args: argparse.Namespace) -> None:
    ssid = args.target
    if not ssid:
        raise UsageError("Which network? Usage: %wifi connect SSID (see %wifi scan).")
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds.")
    conn = kernel.connection
    wifi.require_network(conn)  # no network module: say so before asking
    key = (
        ""
        if args.open
        else ask_secret(
            kernel.getpass,
            f"WiFi password for {ssid}: ",
            from_env=args.password_from_env,
            default_env="MPKERNEL_WIFI_PASSWORD",
        )
    )
    timeout = args.timeout
    bar = Progress(f"Connecting to {ssid}", int(timeout), unit="s")

    def tick(elapsed: float, state: str) -> None:
        bar.update(min(int(elapsed), int(timeout)))

    outcome = wifi.connect(conn, ssid, key, timeout, tick)
    del key
    bar.finish(outcome.message, ok=outcome.ok)
    if not outcome.ok:
        raise WifiError(outcome.message[0].upper() + outcome.message[1:] + ".")
    lines = [outcome.message, *ip_lines(wifi.info(conn))]
    kernel.say("\n".join(lines) + "\n" + PERSIST_NOTE)


def _status(kernel: Context) -> None:
    conn = kernel.connection
    sta = wifi.info(conn, "STA_IF")
    try:
        ap = wifi.info(conn, "AP_IF")
    except WifiError:
        ap = {}
    lines = _describe("Station (STA_IF)", sta, True)
    lines += _describe("Access point (AP_IF)", ap, False) if ap else ["Access point: none"]
    kernel.say("\n".join(lines) + "\n")


def _ap(kernel: Context, args: argparse.Namespace) -> None:
    conn = kernel.connection
    state = (args.target or "").lower()
    if state not in ("on", "off"):
        raise UsageError("Usage: %wifi ap on|off [--essid NAME] [--open|--password-from-env VAR]")
    if state == "off":
        wifi.access_point(conn, False)
        kernel.say("Access point off.\n")
        return
    wifi.require_network(conn)
    key = None
    if not args.open:
        key = ask_secret(
            kernel.getpass,
            "Password for the board's access point (8+ characters): ",
            from_env=args.password_from_env,
            default_env="MPKERNEL_AP_PASSWORD",
        )
    wifi.access_point(conn, True, args.essid, key)
    del key
    data = wifi.info(conn, "AP_IF")
    lines = ["Access point on.", *_describe("Access point", data, False)[1:]]
    kernel.say("\n".join(lines) + "\n")
