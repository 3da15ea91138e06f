"""`jupyter console --kernel micropython` runs a cell on the virtual board (in a pty)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect", reason="pexpect not installed (sh install/test-tools.sh)")
pytest.importorskip(
    "jupyter_console", reason="jupyter-console not installed (sh install/test-tools.sh)"
)

PROMPT = r"In \[(\d+)\]: "


@pytest.mark.timeout(180)
def test_console_runs_cell(kernelspec: Path, tmp_path: Path) -> None:
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "TERM": "dumb"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "jupyter_console", "--kernel", "micropython", "--simple-prompt"],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 200),
    )
    log: list[str] = []
    child.logfile_read = _Collect(log)
    try:
        child.expect(PROMPT)
        child.sendline("%connect virtual")
        child.expect("Connected to")
        child.expect(PROMPT)
        child.sendline("print(6*7)")
        child.expect(r"\r?\n42\r?\n")
        child.expect(PROMPT)
        child.sendeof()  # Ctrl-D: `exit` would run on the board
        index = child.expect([r"exit \(\[y\]/n\)\?", pexpect.EOF])
        if index == 0:
            child.sendline("y")
            child.expect(pexpect.EOF)
    except (pexpect.TIMEOUT, pexpect.EOF) as exc:
        pytest.fail(f"{type(exc).__name__}; the console showed:\n{''.join(log)[-3000:]}")
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, "".join(log)[-3000:]


class _Collect:
    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, text: str) -> None:
        self.into.append(text)

    def flush(self) -> None:
        pass
