"""The project's own promises: README commands, CI calling them, lint-clean code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_starts_with_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text()
    commands = readme_commands()
    assert text.index(commands[0]) < text.index("---")
    install, test = commands[:2]
    assert "python -m mpkernel install" in install and "jupyter lab notebooks/" in install
    assert "install/test-tools.sh" in test and "pytest" in test
    assert '".[test]"' in (ROOT / "install" / "test-tools.sh").read_text()


def test_ci_runs_the_readme_test_command() -> None:
    out = subprocess.run(
        [
            "bash",
            "-c",
            "grep -m2 -A1 '^```sh$' README.md | grep -v '^```sh$' | grep -v '^--$' | sed -n 2p",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == readme_commands()[1]
    assert 'bash -c "$cmd"' in (ROOT / ".ci" / "run").read_text()


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "mpkernel", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_hold() -> None:
    """The layers, no cycles, widgets only above services: pyproject.toml's contracts."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
