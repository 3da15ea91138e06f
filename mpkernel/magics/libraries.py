"""Library magics: %mip install."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from IPython.display import display

from ..board.filesystem import FileError
from ..libraries.installer import Installer, Plan
from ..libraries.mip import MipError, parse_spec
from ..provenance import install_bundle
from ..widgets.progress import Progress, human_bytes
from .files import board_files, warn_shadowed
from .registry import MagicError, arg, magic

if TYPE_CHECKING:
    from ..kernel import MicroPythonKernel


@magic("mip")
@arg("command", choices=["install"], help="what to do (install)")
@arg("packages", nargs="+", metavar="PACKAGE", help="NAME[@VERSION], github:ORG/REPO[@BRANCH], URL")
@arg("--target", metavar="DIR", help="folder on the board (default: the lib folder in sys.path)")
@arg("--index", metavar="URL", help="package index (default: micropython-lib)")
@arg("--no-mpy", action="store_true", help="install .py source, not compiled .mpy")
def mip_magic(kernel: MicroPythonKernel, args: argparse.Namespace) -> None:
    """Install packages from micropython-lib or GitHub/GitLab/URLs, fetched by this computer.

    This computer reads the index and every file, checks each file's hash, and only then
    copies them to the board (verified), so boards without WiFi install packages too.
    Files the board already has are skipped. .mpy files are installed where the index has
    them for the board; .py from URLs are compiled with mpy-cross when it is installed.
    The install is recorded in the notebook (package, version, hashes).
    """
    try:
        specs = [parse_spec(text) for text in args.packages]
    except MipError as exc:
        raise MagicError(str(exc)) from None
    with board_files(kernel) as fs:
        try:
            installer = Installer(fs, args.index, args.target, not args.no_mpy, kernel.say)
            kernel.say(
                f"Installing {', '.join(map(str, specs))} from "
                f"{installer.index if not all(s.is_url for s in specs) else 'URLs'} "
                f"to {installer.target}\n"
            )
            plan = installer.plan(specs)
            _write(kernel, installer, plan)
        except (MipError, FileError) as exc:
            raise MagicError(str(exc)) from None
    if plan.target not in installer.libs.sys_path:
        plan.notes.append(
            f"{plan.target} is not in the board's sys.path: "
            f"sys.path.append({plan.target!r}) to import from it."
        )
    for note in plan.notes:
        kernel.say(note + "\n", "stderr")
    records = [p.as_dict() for p in plan.packages]
    kernel.shell.user_ns.setdefault("_libraries", []).extend(records)
    display(install_bundle(records, plan.target, plan.index), raw=True)


def _write(kernel: MicroPythonKernel, installer: Installer, plan: Plan) -> None:
    files = plan.to_write
    skipped = sum(len(p.files) for p in plan.packages) - len(files)
    bar = Progress("mip install", plan.bytes_to_write) if files else None
    try:
        written = installer.write(plan, bar.update if bar else None)
    except (MipError, FileError) as exc:
        if bar:
            bar.finish(f"mip install: failed ({exc})", ok=False)
        raise
    except KeyboardInterrupt:
        if bar:
            bar.finish("mip install: interrupted (the files written so far are complete)", ok=False)
        raise
    summary = (
        f"Installed {len(plan.packages)} package(s) in {plan.target}: "
        f"{len(files)} file(s), {human_bytes(written)} written"
        + (f", {skipped} already there" if skipped else "")
    )
    if bar:
        bar.finish(summary)
    else:
        kernel.say(summary + "\n")
    warn_shadowed(kernel, installer.fs, [f.path for p in plan.packages for f in p.files])
