"""WebREPL on the board: enable it with a password, say where it listens, disable it.

What `import webrepl_setup` does: webrepl_cfg.py holds `PASS = '...'` (written in one exec
whose output is empty: helpers/webrepl_config.py) and boot.py starts WebREPL. The password
is never shown, logged or kept; board messages pass through `wifi.redact` first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..board.filesystem import BoardFiles
from ..board.helpers import helper_call
from ..board.session import Board
from ..errors import BoardError, OperationError, UsageError
from .connection import Connection
from .wifi import redact

CFG = "webrepl_cfg.py"
BOOT = "boot.py"
LINES = ("import webrepl", "webrepl.start()")
PORT = 8266


class WebreplError(OperationError):
    """Changing or reading the board's WebREPL set-up failed."""


def change_daemon(boot: str, enable: bool) -> str:
    """boot.py with WebREPL's lines uncommented (enable) or commented out, as webrepl_setup."""
    out = []
    found = False
    for line in boot.splitlines(keepends=True):
        if any(p in line for p in LINES):
            found = True
            if enable and line.startswith("#"):
                line = line[1:]
            elif not enable and not line.startswith("#"):
                line = "#" + line
        out.append(line)
    text = "".join(out)
    if enable and not found:
        if text and not text.endswith("\n"):
            text += "\n"
        text += "import webrepl\nwebrepl.start()\n"
    return text


def starts_webrepl(boot: str) -> bool:
    """Whether boot.py starts WebREPL (a line calling webrepl.start() not commented out)."""
    return any(
        "webrepl.start(" in line and not line.lstrip().startswith("#") for line in boot.splitlines()
    )


def _read(fs: BoardFiles, path: str) -> str | None:
    if fs.stat(path) is None:
        return None
    return fs.get(path)[0].decode("utf-8", "replace")


def check_password(password: str) -> None:
    """UsageError unless the firmware accepts this WebREPL password."""
    if not 4 <= len(password) <= 9:
        raise UsageError(
            "The WebREPL password must be 4 to 9 characters long (the firmware's limit): "
            "nothing was changed."
        )
    if any(c in password for c in "\r\n"):
        raise UsageError("The WebREPL password cannot contain a line break: nothing was changed.")


def setup(conn: Connection, password: str) -> None:
    """Write the password to webrepl_cfg.py and make boot.py start WebREPL."""
    check_password(password)
    code = helper_call("webrepl_config", f"_mpk_wcfg({f'PASS = {password!r}' + chr(10)!r})")
    try:
        with conn.using() as board:
            out = board.exec_capture(code)
            fs = conn.files()
            boot = _read(fs, BOOT) or ""
            fs.put(change_daemon(boot, True).encode(), BOOT)
    except (BoardError, OperationError) as exc:
        raise WebreplError(f"WebREPL setup failed: {redact(str(exc), password)}") from None
    finally:
        del code
    if out.strip():  # never expected; never shown with the password in it
        raise WebreplError(f"WebREPL setup: the board said {redact(out.strip(), password)[:80]}")


@dataclass
class WebreplStatus:
    """Whether WebREPL is set up, and the addresses it listens on."""

    has_config: bool
    boot_starts: bool
    boot_present: bool
    addresses: list[tuple[str, str]] | None = field(default=None)  # None: no network module
    connected_over_it: bool = False
    #: The virtual board's WebREPL: its ws:// address, "" while it does not serve; None on
    #: any other board (whose addresses are its network interfaces').
    virtual_url: str | None = None

    @property
    def enabled(self) -> bool:
        return self.has_config and self.boot_starts


def status(conn: Connection) -> WebreplStatus:
    """Read webrepl_cfg.py's presence, boot.py, and the active interfaces' addresses."""
    try:
        with conn.using() as board:
            fs = conn.files()
            has_cfg = fs.stat(CFG) is not None
            boot = _read(fs, BOOT)
            found = board.exec_value(helper_call("webrepl_addresses", "_mpk_wr()"))
            virtual = _virtual_url(board)
            # For display only (not a behaviour branch): tell the user this notebook itself
            # talks over the WebREPL being described.
            over = board.kind == "webrepl"
    except (BoardError, OperationError) as exc:
        raise WebreplError(f"WebREPL status: {exc}") from None
    addresses = None
    if isinstance(found, (list, tuple)):
        addresses = [(str(n), str(ip)) for n, ip in found]
    return WebreplStatus(
        has_cfg, starts_webrepl(boot or ""), boot is not None, addresses, over, virtual
    )


def _virtual_url(board: Board) -> str | None:
    found = board.exec_value(helper_call("webrepl_virtual", "_mpk_wv()"))
    if found is False:
        return None
    return str(found) if found != "ws://" else ""


def address(conn: Connection) -> str:
    """Where the board's WebREPL listens: the virtual board's own address, else the one
    active network interface's, at PORT. UsageError when that cannot be told."""
    st = status(conn)
    if st.virtual_url == "":
        raise UsageError("The virtual board's WebREPL is not running: %webrepl setup, then %reset.")
    if st.virtual_url:
        return st.virtual_url
    if not st.addresses or len(st.addresses) != 1:
        raise UsageError(
            "WebREPL connect needs exactly one active network interface on the board "
            "(%webrepl status lists them): use %connect ws://IP:8266."
        )
    return f"ws://{st.addresses[0][1]}:{PORT}"


def disable(conn: Connection, remove_password: bool = False) -> None:
    """Comment out boot.py's WebREPL lines; with remove_password, delete webrepl_cfg.py."""
    try:
        with conn.using_files() as fs:
            boot = _read(fs, BOOT)
            if boot is not None and any(p in boot for p in LINES):
                fs.put(change_daemon(boot, False).encode(), BOOT)
            if remove_password and fs.stat(CFG) is not None:
                fs.rm(CFG)
    except (BoardError, OperationError) as exc:
        raise WebreplError(f"WebREPL disable: {exc}") from None
