"""The project's own promises: README commands, CI calling them, lint-clean code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_types_check() -> None:
    """mypy over the package (pyproject.toml's [tool.mypy]), with no `# type: ignore` left."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    ignores = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "mpkernel").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "type: ignore" in line
    ]
    assert not ignores, ignores


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_constraints_cover_every_dependency_and_match_the_pins() -> None:
    """constraints.txt holds the whole tree CI tests: regenerate it when pyproject changes
    (sh install/freeze-constraints.sh)."""
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pinned[_name(name)] = version
    requirements = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        requirements += [r for r in extra if _name(r) != project["name"]]
    for requirement in requirements:
        name = _name(requirement)
        assert name in pinned, f"{name} is not in constraints.txt"
        if "==" in requirement:
            assert requirement.split("==")[1] == pinned[name], requirement
    commands = readme_commands()
    assert "-c constraints.txt" in commands[0]
    assert "-c constraints.txt" in (ROOT / "install" / "test-tools.sh").read_text()


def test_ci_runs_timing_tests_under_load() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "stress-ng --cpu 2" in ci and "-m timing" in ci
    assert "timing:" in (ROOT / "pyproject.toml").read_text()
