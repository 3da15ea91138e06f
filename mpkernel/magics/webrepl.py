"""%webrepl setup, status, connect, disable: the board's REPL over WiFi (services.webrepl)."""

from __future__ import annotations

import argparse
import functools
from typing import TYPE_CHECKING

from ..services import webrepl
from ..services.secrets import ask_secret, webrepl_password
from ..services.webrepl import BOOT, CFG, PORT
from .registry import arg, magic

if TYPE_CHECKING:
    from ..services.context import Context


def _setup(kernel: Context, args: argparse.Namespace) -> None:
    kernel.require_board()
    password = ask_secret(
        kernel.getpass,
        "New WebREPL password (4-9 characters): ",
        from_env=args.password_from_env,
        default_env="MPKERNEL_WEBREPL_PASSWORD",
    )
    webrepl.setup(kernel.connection, password)
    del password
    kernel.say(
        f"WebREPL enabled: {CFG} holds the password (not shown), {BOOT} starts WebREPL "
        f"(port {PORT}).\n"
    )
    if args.reset:
        boot = kernel.connection.reset(hard=False)
        if boot.strip():
            kernel.say(boot if boot.endswith("\n") else boot + "\n")
        kernel.say("Soft reset done: the board's variables are gone (boot.py ran).\n")
        kernel.say("WebREPL starts now if the firmware has it: %webrepl status shows where.\n")
    else:
        kernel.say(
            "Run %reset to start it (or %webrepl setup --reset next time); %webrepl status "
            "shows its address.\n"
        )


def _status(kernel: Context) -> None:
    st = webrepl.status(kernel.connection)
    if st.boot_starts:
        boot_says = "starts WebREPL"
    else:
        boot_says = "does not start it" if st.boot_present else "missing"
    lines = [
        f"WebREPL: {'enabled' if st.enabled else 'not enabled'} "
        f"({CFG} {'present' if st.has_config else 'missing'}; {BOOT} {boot_says})."
    ]
    if st.virtual_url == "":
        lines.append(
            "The virtual board's WebREPL is not running: after a reset (boot.py starts it) "
            "it listens on 127.0.0.1, port 8266 when free."
        )
    elif st.virtual_url:
        lines.append(
            f"Listens on {st.virtual_url} (the virtual board's WebREPL, on this computer)."
        )
    elif st.addresses is None:
        lines.append("This board has no network module: WebREPL cannot listen here.")
    elif not st.addresses:
        lines.append("No network interface is active: connect with %wifi connect (or %wifi ap).")
    else:
        verb = "Listens" if st.enabled else "Would listen"
        for name, ip in st.addresses:
            lines.append(f"{verb} on ws://{ip}:{PORT} ({name}).")
    if st.connected_over_it:
        where = kernel.connection.status().name
        lines.append(f"This notebook is connected over WebREPL ({where}).")
    elif not st.enabled:
        lines.append("%webrepl setup enables it.")
    kernel.say("\n".join(lines) + "\n")


def _connect(kernel: Context, args: argparse.Namespace) -> None:
    from .connection import announce

    # Link-kind branch 3 of 3: already on the WebREPL, there is nothing to switch to.
    if kernel.connection.status().kind == "webrepl":
        kernel.say(f"Already connected over WebREPL ({kernel.connection.status().name}).\n")
        return
    url = webrepl.address(kernel.connection)
    # asked once the WebREPL answers, not before
    password = functools.partial(webrepl_password, kernel.getpass, args.password_from_env)
    announce(kernel, kernel.connection.connect(url, password=password))


@magic("webrepl")
@arg(
    "action",
    nargs="?",
    default="status",
    choices=("setup", "status", "connect", "disable"),
    help="setup: enable WebREPL with a password; status (default); connect: %connect to "
    "the address status shows; disable",
)
@arg("--password-from-env", metavar="VAR", help="setup, connect: take the password from $VAR")
@arg("--reset", action="store_true", help="setup: soft-reset afterwards, so WebREPL starts")
@arg("--remove-password", action="store_true", help=f"disable: also delete {CFG}")
def webrepl_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Enable, inspect or disable the board's WebREPL (REPL over WiFi, %connect ws://IP).

    setup asks for a new password (4-9 characters) in a hidden prompt, writes webrepl_cfg.py
    and makes boot.py start WebREPL (as `import webrepl_setup` does); status says whether it
    is enabled and on which addresses it listens; connect moves this notebook to that
    address (%connect ws://...: the password is asked again); disable comments out boot.py's
    lines.
    """
    if args.action == "setup":
        _setup(kernel, args)
    elif args.action == "connect":
        _connect(kernel, args)
    elif args.action == "disable":
        webrepl.disable(kernel.connection, args.remove_password)
        kept = (
            f"{CFG} was removed"
            if args.remove_password
            else f"{CFG} (the password) is kept: --remove-password deletes it"
        )
        kernel.say(f"WebREPL disabled: {BOOT} no longer starts it (from the next reset); {kept}.\n")
    else:
        _status(kernel)
