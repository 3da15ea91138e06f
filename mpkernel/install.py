"""Install or remove the ``micropython`` Jupyter kernelspec.

Installing the package (``pip install .``, or its wheel) already registers the kernel in
the environment's ``share/jupyter/kernels``; these commands re-register it elsewhere
(``--user``, ``--sys-prefix``, ``--prefix``) with ``argv[0]`` set to the
interpreter that runs them::

    python -m mpkernel install [--user | --sys-prefix | --prefix DIR]
                               [--name NAME] [--display-name NAME]
    python -m mpkernel uninstall [--user | --sys-prefix | --prefix DIR] [--name NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from . import DISTRIBUTION

KERNEL_NAME = "micropython"
#: PyPI's `mpkernel` is an unrelated kernel that also installs an import package `mpkernel`.
OTHER_DISTRIBUTION = "mpkernel"
RESOURCES = Path(__file__).resolve().parent / "resources" / "kernelspec"


def import_name_clash() -> str | None:
    """One line on what to do when PyPI's unrelated `mpkernel` shares this environment."""
    try:
        metadata.distribution(OTHER_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    return (
        f"warning: the unrelated package {OTHER_DISTRIBUTION!r} (PyPI) is installed here and "
        f"uses the same import name: run `pip uninstall {OTHER_DISTRIBUTION}`, then install "
        f"{DISTRIBUTION} again as you did (from its folder: `pip install --force-reinstall .`)."
    )


def in_virtualenv() -> bool:
    """True when running inside a virtualenv/venv (or a conda-style env with its own prefix)."""
    return sys.prefix != getattr(sys, "base_prefix", sys.prefix)


def default_location() -> str:
    """The location used when no flag is given: ``"sys-prefix"`` in a venv, else ``"user"``."""
    return "sys-prefix" if in_virtualenv() else "user"


def _location(args: argparse.Namespace) -> tuple[bool, str | None]:
    """Turn the parsed location flags into ``(user, prefix)`` for jupyter_client."""
    if args.prefix:
        return False, os.path.abspath(args.prefix)
    where = "sys-prefix" if args.sys_prefix else "user" if args.user else default_location()
    if where == "sys-prefix":
        return False, sys.prefix
    return True, None


def kernelspec_dir(name: str, user: bool, prefix: str | None) -> Path:
    """Where a kernelspec called ``name`` lives for the given location."""
    if user:
        return Path(KernelSpecManager().user_kernel_dir) / name
    if prefix is None:
        raise ValueError("either user or prefix must be given")
    return Path(prefix).resolve() / "share" / "jupyter" / "kernels" / name


def install_kernelspec(
    user: bool = False,
    prefix: str | None = None,
    name: str = KERNEL_NAME,
    display_name: str | None = None,
) -> str:
    """Install the kernelspec and return the directory it was written to.

    The spec's ``argv[0]`` becomes ``sys.executable``, so the installed kernel
    runs with this interpreter whatever is first on ``PATH``. Raises ``OSError``
    when the destination cannot be written and ``ValueError`` for a bad name.
    """
    with tempfile.TemporaryDirectory(prefix="mpkernel-spec-") as tmp:
        source = Path(tmp) / name
        shutil.copytree(RESOURCES, source)
        spec_file = source / "kernel.json"
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
        spec["argv"][0] = sys.executable or "python"
        if display_name:
            spec["display_name"] = display_name
        spec_file.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        return KernelSpecManager().install_kernel_spec(
            str(source), kernel_name=name, user=user, prefix=prefix
        )


def uninstall_kernelspec(
    user: bool = False, prefix: str | None = None, name: str = KERNEL_NAME
) -> Path | None:
    """Remove the kernelspec at one location; return its directory, or None if absent."""
    path = kernelspec_dir(name.lower(), user, prefix)
    if not (path / "kernel.json").is_file():
        return None
    shutil.rmtree(path)
    return path


def _parser(prog: str, description: str, install: bool) -> argparse.ArgumentParser:
    """The argument parser shared by ``install`` and ``uninstall``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--user", action="store_true", help="the current user's Jupyter data directory"
    )
    where.add_argument(
        "--sys-prefix",
        action="store_true",
        help=f"this Python environment ({sys.prefix}/share/jupyter)",
    )
    where.add_argument("--prefix", metavar="DIR", help="DIR/share/jupyter/kernels")
    parser.add_argument(
        "--name", default=KERNEL_NAME, help=f"kernelspec name (default: {KERNEL_NAME})"
    )
    if install:
        parser.add_argument(
            "--display-name", metavar="NAME", help="name shown in Jupyter (default: MicroPython)"
        )
    parser.epilog = (
        "Without a location flag: --sys-prefix inside a virtual environment, otherwise --user "
        f"(here: --{default_location()})."
    )
    return parser


def _fail(command: str, message: str) -> int:
    """Print one error line on stderr and return exit code 1."""
    print(f"python -m mpkernel {command}: error: {message}", file=sys.stderr)
    return 1


def _os_reason(exc: OSError) -> str:
    """A short reason for an OSError, without the traceback."""
    return exc.strerror or str(exc) or type(exc).__name__


def main(argv: list[str]) -> int:
    """``python -m mpkernel install``: register the kernelspec; return an exit code."""
    args = _parser(
        "python -m mpkernel install",
        "Register the MicroPython kernel with Jupyter, running this Python interpreter.",
        install=True,
    ).parse_args(argv)
    user, prefix = _location(args)
    clash = import_name_clash()
    if clash:
        print(clash, file=sys.stderr)
    target = kernelspec_dir(args.name.lower(), user, prefix)
    try:
        dest = install_kernelspec(
            user=user, prefix=prefix, name=args.name, display_name=args.display_name
        )
    except ValueError as exc:
        return _fail("install", str(exc))
    except OSError as exc:
        hint = "use --prefix DIR" if user else "try --user"
        return _fail(
            "install", f"cannot write the kernelspec to {target}: {_os_reason(exc)}; {hint}"
        )
    print(f"Installed kernelspec {Path(dest).name} in {dest}")
    kernels_dir = os.path.dirname(dest)
    searched = {os.path.realpath(d) for d in KernelSpecManager().kernel_dirs}
    if os.path.realpath(kernels_dir) not in searched:
        share = os.path.dirname(kernels_dir)
        print(
            f"note: Jupyter does not search {kernels_dir} by default; "
            f"add {share} to JUPYTER_PATH to use it",
            file=sys.stderr,
        )
    return 0


def uninstall_main(argv: list[str]) -> int:
    """``python -m mpkernel uninstall``: remove the kernelspec; return an exit code."""
    args = _parser(
        "python -m mpkernel uninstall",
        "Remove the MicroPython kernelspec from one location.",
        install=False,
    ).parse_args(argv)
    user, prefix = _location(args)
    name = args.name.lower()
    try:
        removed = uninstall_kernelspec(user=user, prefix=prefix, name=name)
    except OSError as exc:
        where = kernelspec_dir(name, user, prefix)
        return _fail("uninstall", f"cannot remove {where}: {_os_reason(exc)}")
    if removed is None:
        where = kernelspec_dir(name, user, prefix)
        found = KernelSpecManager().find_kernel_specs().get(name)
        also = f"; Jupyter finds one in {found}" if found else ""
        return _fail("uninstall", f"no kernelspec {name} in {where.parent}{also}")
    print(f"Removed kernelspec {name} from {removed}")
    return 0
