"""Provenance: who the board is, recorded in the notebook for reproducible experiments."""

from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

from .. import __version__
from ..board.helpers import helper
from ..board.session import Board
from ..errors import BoardError

MIME = "application/vnd.mpkernel.provenance+json"


def board_identity(board: Board, with_mac: bool = False) -> dict[str, Any]:
    """What the board says about itself (an empty dict if it cannot say)."""
    try:
        found = board.exec_value(helper("identity"))
        if with_mac and isinstance(found, dict):
            found["mac"] = board.exec_value(helper("identity_mac"))
    except BoardError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if v is not None}


def firmware_line(identity: dict[str, Any]) -> str:
    """ "MicroPython v1.22.0 on 2023-12-27 (ESP module with ESP8266)" or the like."""
    if not identity:
        return "MicroPython"
    release = str(identity.get("sys_version", "")).split("; ", 1)[-1]
    if identity.get("implementation") != "micropython":
        release = f"{identity.get('implementation')} {release}"
    machine = identity.get("machine")
    return f"{release} ({machine})" if machine else release


def record(board: Board, with_mac: bool = False) -> dict[str, Any]:
    """The full provenance record: the board's identity, the link and the software."""
    identity = board_identity(board, with_mac)
    if not with_mac:
        identity.pop("mac", None)
    try:
        esptool_version = metadata.version("esptool")  # not imported: it binds its logger
    except metadata.PackageNotFoundError:
        esptool_version = ""
    return {
        "board": identity,
        "firmware": firmware_line(identity),
        "port": {"kind": board.kind, "name": board.name},
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {
            "mpkernel": __version__,
            "python": platform.python_version(),
            "platform": sys.platform,
            "esptool": esptool_version,
        },
    }


def summary(rec: dict[str, Any]) -> str:
    """One compact line for the page."""
    b = rec.get("board", {})
    parts = [rec.get("firmware", "MicroPython"), f"via {rec['port']['kind']}"]
    if b.get("simulated") and rec["port"]["kind"] != "virtual":
        parts[-1] += " to the virtual board"
    if b.get("unique_id"):
        parts.append(f"id {b['unique_id']}")
    if b.get("flash_size"):
        parts.append(f"flash {b['flash_size'] // 1024} KB")
    if b.get("mem_free") is not None:
        parts.append(f"{b['mem_free']:,} bytes free heap")
    parts.append(f"mpkernel {rec['host']['mpkernel']}")
    return "Provenance: " + ", ".join(parts)


def bundle(rec: dict[str, Any]) -> dict[str, Any]:
    """The display data: compact in the page, complete in the saved file."""
    line = summary(rec)
    return {
        MIME: rec,
        "text/plain": line,
        "text/html": f"<small style='color:#666'>{_escape(line)}</small>",
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


INSTALL_MIME = "application/vnd.mpkernel.install+json"


def install_bundle(packages: list[dict[str, Any]], target: str, index: str) -> dict[str, Any]:
    """The display data that records an install (package, version, source, file hashes)."""
    rec = {
        "libraries": packages,
        "target": target,
        "index": index,
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    line = "Installed: " + ", ".join(f"{p['package']} {p['version']}".strip() for p in packages)
    return {
        INSTALL_MIME: rec,
        "text/plain": line,
        "text/html": f"<small style='color:#666'>{_escape(line)}</small>",
    }
