"""WebREPL magics: %webrepl setup, status, disable (what `import webrepl_setup` does).

setup writes `webrepl_cfg.py` (`PASS = '...'`) inside one exec whose output is empty and
makes boot.py start WebREPL; the password comes from `secrets.ask_secret` and is never shown,
logged or kept. Board messages pass through `wifi.redact` first.
"""

from __future__ import annotations

import argparse
import ast
from typing import TYPE_CHECKING

from ..board.filesystem import BoardFiles, FileError
from ..board.session import BoardError, BoardExecError
from ..secrets import ask_secret
from .registry import MagicError, arg, magic
from .wifi import redact

if TYPE_CHECKING:
    from ..kernel import MicroPythonKernel

CFG = "webrepl_cfg.py"
BOOT = "boot.py"
LINES = ("import webrepl", "webrepl.start()")
PORT = 8266
_ADDRESSES = """try:
 import network as _mpkn
 if _mpkn is None:raise ImportError
except ImportError:
 print('None')
else:
 _r=[]
 for _i,_n in ((_mpkn.STA_IF,'station'),(_mpkn.AP_IF,'access point')):
  try:
   _w=_mpkn.WLAN(_i)
   if _w.active():_r.append((_n,_w.ifconfig()[0]))
  except Exception:pass
 print(repr(_r))
 del _mpkn,_r
"""


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
    return any(
        "webrepl.start(" in line and not line.lstrip().startswith("#") for line in boot.splitlines()
    )


def _read(fs: BoardFiles, path: str) -> str | None:
    if fs.stat(path) is None:
        return None
    return fs.get(path)[0].decode("utf-8", "replace")


def _setup(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    board = kernel.require_board()
    password = ask_secret(
        kernel,
        "New WebREPL password (4-9 characters): ",
        from_env=args.password_from_env,
        default_env="MPKERNEL_WEBREPL_PASSWORD",
    )
    if not 4 <= len(password) <= 9:
        raise MagicError(
            "The WebREPL password must be 4 to 9 characters long (the firmware's limit): "
            "nothing was changed."
        )
    if any(c in password for c in "\r\n"):
        raise MagicError("The WebREPL password cannot contain a line break: nothing was changed.")
    content = f"PASS = {password!r}\n"
    code = f"with open({CFG!r}, 'w') as _f:\n    _f.write({content!r})\ndel _f\n"
    try:
        with kernel.board_lock:
            out = board.exec_capture(code)
            fs = BoardFiles(board)
            boot = _read(fs, BOOT) or ""
            fs.put(change_daemon(boot, True).encode(), BOOT)
    except (BoardExecError, FileError, *BoardError) as exc:
        raise MagicError(f"WebREPL setup failed: {redact(str(exc), password)}") from None
    if out.strip():  # never expected; never shown with the password in it
        kernel.say(redact(out, password))
    del password, content, code
    kernel.say(
        f"WebREPL enabled: {CFG} holds the password (not shown), {BOOT} starts WebREPL "
        f"(port {PORT}).\n"
    )
    if args.reset:
        from .connection import reset_magic

        reset_magic(kernel, argparse.Namespace(hard=False))
        kernel.say("WebREPL starts now if the firmware has it: %webrepl status shows where.\n")
    else:
        kernel.say(
            "Run %reset to start it (or %webrepl setup --reset next time); %webrepl status "
            "shows its address.\n"
        )


def _status(kernel: MicroPythonKernel) -> None:
    board = kernel.require_board()
    try:
        with kernel.board_lock:
            fs = BoardFiles(board)
            has_cfg = fs.stat(CFG) is not None
            boot = _read(fs, BOOT)
            found = ast.literal_eval(board.exec_capture(_ADDRESSES).strip() or "None")
    except (BoardExecError, FileError, *BoardError, ValueError, SyntaxError) as exc:
        raise MagicError(f"WebREPL status: {exc}") from None
    starts = starts_webrepl(boot or "")
    enabled = has_cfg and starts
    boot_says = "starts WebREPL" if starts else "missing" if boot is None else "does not start it"
    lines = [
        f"WebREPL: {'enabled' if enabled else 'not enabled'} "
        f"({CFG} {'present' if has_cfg else 'missing'}; {BOOT} {boot_says})."
    ]
    if found is None:
        lines.append("This board has no network module: WebREPL cannot listen here.")
    elif not found:
        lines.append("No network interface is active: connect with %wifi connect (or %wifi ap).")
    else:
        verb = "Listens" if enabled else "Would listen"
        for name, ip in found:
            lines.append(f"{verb} on ws://{ip}:{PORT} ({name}).")
    if board.kind == "webrepl":
        lines.append(f"This notebook is connected over WebREPL ({board.name}).")
    elif not enabled:
        lines.append("%webrepl setup enables it.")
    kernel.say("\n".join(lines) + "\n")


def _disable(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    board = kernel.require_board()
    try:
        with kernel.board_lock:
            fs = BoardFiles(board)
            boot = _read(fs, BOOT)
            if boot is not None and any(p in boot for p in LINES):
                fs.put(change_daemon(boot, False).encode(), BOOT)
            if args.remove_password and fs.stat(CFG) is not None:
                fs.rm(CFG)
    except (BoardExecError, FileError, *BoardError) as exc:
        raise MagicError(f"WebREPL disable: {exc}") from None
    kept = (
        f"{CFG} was removed"
        if args.remove_password
        else f"{CFG} (the password) is kept: --remove-password deletes it"
    )
    kernel.say(f"WebREPL disabled: {BOOT} no longer starts it (from the next reset); {kept}.\n")


@magic("webrepl")
@arg(
    "action",
    nargs="?",
    default="status",
    choices=("setup", "status", "disable"),
    help="setup: enable WebREPL with a password; status (default); disable",
)
@arg("--password-from-env", metavar="VAR", help="setup: take the password from $VAR")
@arg("--reset", action="store_true", help="setup: soft-reset afterwards, so WebREPL starts")
@arg("--remove-password", action="store_true", help=f"disable: also delete {CFG}")
def webrepl_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Enable, inspect or disable the board's WebREPL (REPL over WiFi, %connect ws://IP).

    setup asks for a new password (4-9 characters) in a hidden prompt, writes webrepl_cfg.py
    and makes boot.py start WebREPL (as `import webrepl_setup` does); status says whether it
    is enabled and on which addresses it listens; disable comments out boot.py's lines.
    """
    if args.action == "setup":
        _setup(kernel, args)
    elif args.action == "disable":
        _disable(kernel, args)
    else:
        _status(kernel)
