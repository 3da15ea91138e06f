"""What README.md tells a user holds: its shell examples run (on the virtual board, with the
environment variables it documents), and every option it names exists as written."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mpkernel.magics import MAGICS
from mpkernel.services.flashing import AFTER, RESETS

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent  # the venv's commands, as `.venv/bin/...` names them
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")
SPAN = re.compile(r"`([^`]+)`")
MAGIC = re.compile(r"^%%?\w+")
FENCED = re.compile(r"```.*?```", flags=re.S)
PROSE = FENCED.sub("", README)  # inline `code` is looked for outside the fenced blocks


def sections() -> dict[str, str]:
    """README's `## ` sections by title (the text before the first one is "")."""
    parts = re.split(r"^## (.+)$", PROSE, flags=re.M)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2], strict=True))}


COMMAND = re.compile(r"^([A-Z_]+=\S+ )*(\.venv/bin/)?(jupyter|papermill|python|mpkernel)")


def shell_examples() -> list[str]:
    """The command lines of README's fenced blocks, without the set-up commands themselves."""
    blocks = re.findall(r"```(?:sh)?\n(.*?)```", README, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines() if COMMAND.match(line)]
    return [line for line in lines if "-m venv" not in line and "test-tools.sh" not in line]


def as_run_here(line: str) -> tuple[dict[str, str], list[str]]:
    """The environment and argv of one example, with MPKERNEL_PORT set to the virtual board
    (no real board here) and the command taken from this venv (typed bare or .venv/bin/)."""
    words = shlex.split(line)
    env: dict[str, str] = {}
    while words and re.match(r"^[A-Z_]+=", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    env["MPKERNEL_PORT"] = "virtual"  # also where the line names none: no plugged-in board
    command = Path(words[0]).name
    if command in ("python", "python3"):
        return env, [sys.executable, *words[1:]]
    assert (BIN / command).exists(), f"README runs {words[0]}, which the venv does not have"
    return env, [str(BIN / command), *words[1:]]


def cli_options(*argv: str) -> set[str]:
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return set(OPTION.findall(r.stdout))


def magic_options(name: str) -> set[str]:
    return {o for a in MAGICS[name].parser._actions for o in a.option_strings}


def shown(path: Path) -> str:
    """The text a notebook's code cells show, as a front end shows it: consecutive pieces of
    a stream joined (a board's print() may come in several, e.g. 'Hello from' and ' linux')."""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(
        "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in c.outputs)
        for c in nb.cells if c.cell_type == "code"
    )  # fmt: skip


def test_shell_examples_run_on_the_virtual_board(tmp_path: Path) -> None:
    """Run as written, from a copy of the repository's notebooks, then check what they left:
    results from the virtual board, and only files that .gitignore expects."""
    examples = shell_examples()
    assert any("nbconvert" in line for line in examples)
    assert any("papermill" in line for line in examples)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "before"], check=True)
    for line in examples:
        env, argv = as_run_here(line)
        r = subprocess.run(
            argv, cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert r.returncode == 0, (line, r.stderr[-3000:])
    outputs = sorted(p for p in (tmp_path / "notebooks").iterdir() if p.suffix == ".ipynb")
    for path in outputs:
        nb = nbformat.read(path, as_version=4)
        assert not [
            o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.output_type == "error"
        ], path  # fmt: skip
    names = [p.name for p in outputs]
    assert "00-hello-board.nbconvert.ipynb" in names and "03-run.ipynb" in names, names
    hello = shown(tmp_path / "notebooks" / "00-hello-board.nbconvert.ipynb")
    assert "Hello from linux" in hello and "via the virtual board" in hello, hello
    result = json.loads((tmp_path / "notebooks" / "experiment-result.json").read_text())
    assert result["samples"] == 100 and result["provenance"]["port"]["kind"] == "virtual"
    left = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=all"], capture_output=True, text=True
    ).stdout
    assert left == "", f"files the runs left that .gitignore does not expect:\n{left}"


def test_commands_named_in_the_text_give_their_help() -> None:
    spans = SPAN.findall(PROSE)
    for command in ("python -m mpkernel --help", "mpkernel-virtual-board --help"):
        span = next((s for s in spans if s in (command, ".venv/bin/" + command)), None)
        assert span is not None, f"README does not name `{command}`"
        _, argv = as_run_here(span)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.startswith("usage:"), (span, r.stderr)


def test_every_magic_is_in_the_readme_and_every_option_it_names_exists() -> None:
    spans = SPAN.findall(PROSE)
    mentioned = {m.group(0) for s in spans if (m := MAGIC.match(s))}
    assert set(MAGICS) <= mentioned, f"not in README: {set(MAGICS) - mentioned}"
    for span in spans:
        m = MAGIC.match(span)
        if m is None or m.group(0) == "%NAME":
            continue
        name = m.group(0)
        assert name in MAGICS, span
        for option in OPTION.findall(span[m.end() :]):
            assert option in magic_options(name), f"{span}: {name} has no {option}"
        for option, values in re.findall(r"(--[\w-]+) ([\w.]+(?:\\\|[\w.]+)+)", span):
            action = next(a for a in MAGICS[name].parser._actions if option in a.option_strings)
            if action.choices is not None:
                assert set(values.split("\\|")) <= set(action.choices), span


def test_every_option_of_a_magic_is_named_where_the_readme_has_that_magic() -> None:
    """Each long option of each magic (one of its spellings: `--address` or `--addr`) is
    in a README section that names the magic (its row, or the text around it)."""
    texts = sections().values()
    missing = []
    for name, spec in MAGICS.items():
        where = [
            t
            for t in texts
            if name in {m.group(0) for s in SPAN.findall(t) if (m := MAGIC.match(s))}
        ]
        named = {o for t in where for s in SPAN.findall(t) for o in OPTION.findall(s)}
        for action in spec.parser._actions:
            spellings = [o for o in action.option_strings if o.startswith("--")]
            if spellings and "--help" not in spellings and not named & set(spellings):
                missing.append(f"{name} {spellings[0]}")
    assert not missing, f"not in the README: {missing}"


def test_options_outside_a_magic_belong_to_a_magic_of_their_row_or_section() -> None:
    """`--yes` in a table row is an option of that row's magic; one in the text, of a magic
    (or a command) the section is about."""
    cli = {
        "mpkernel-virtual-board": cli_options(str(BIN / "mpkernel-virtual-board"), "--help"),
        "python -m mpkernel install": cli_options(
            sys.executable, "-m", "mpkernel", "install", "--help"
        ),
        "papermill": cli_options(str(BIN / "papermill"), "--help"),
        "jupyter lab": cli_options(str(BIN / "jupyter"), "lab", "--help"),
        "python -m pytest": cli_options(sys.executable, "-m", "pytest", "--help"),
    }
    checked = 0
    for title, text in sections().items():
        section_magics = {m.group(0) for s in SPAN.findall(text) if (m := MAGIC.match(s))}
        allowed = set().union(*(magic_options(n) for n in section_magics if n in MAGICS))
        allowed |= set().union(*(opts for command, opts in cli.items() if command in text))
        rows = [line for line in text.splitlines() if line.startswith("|")]
        prose = "\n".join(line for line in text.splitlines() if not line.startswith("|"))
        places = [(row, _magics_options(SPAN.findall(row))) for row in rows] + [(prose, set())]
        for place, scope in places:
            for span in SPAN.findall(place):
                if span.startswith("-"):
                    for option in OPTION.findall(span):
                        assert option in (scope or allowed), f"{title}: {span!r}"
                        checked += 1
    assert checked > 20


def _magics_options(spans: list[str]) -> set[str]:
    names = {m.group(0) for s in spans if (m := MAGIC.match(s))} & set(MAGICS)
    return set().union(*(magic_options(n) for n in names))


def test_before_and_after_values_are_the_ones_that_exist() -> None:
    chip = sections()["Chip, flash and firmware (ESP8266 and ESP32 family, through esptool)"]
    before = chip[chip.index("`--before` is") : chip.index("`--after` (")]
    after = chip[chip.index("`--after` (") :].split(".\n")[0]
    assert set(SPAN.findall(before)) - {"--before"} == set(RESETS)
    assert set(SPAN.findall(after)) - {"--after", "%flash", "%restore"} == set(AFTER)
    for name in ("%flash", "%restore"):
        assert "--after" in magic_options(name)
    for name in ("%backup", "%restore", "%erase", "%flash", "%chipinfo"):
        assert {"--baud", "--before"} <= magic_options(name), name
        assert name == "%chipinfo" or "--port" in magic_options(name), name


@pytest.mark.parametrize("word", ["%NAME -h", "%help NAME"])
def test_help_is_named_as_the_full_reference(word: str) -> None:
    assert f"`{word}`" in README


PIP_INSTALL = re.compile(r"pip install ([^`\n&|;]+)")


def test_pip_installs_name_only_this_folder_or_packages_on_pypi() -> None:
    """Every `pip install` the README shows works as written today: what it installs is this
    folder (`.`, `".[extra]"`), a wheel built here, a requirements file, or a package CI
    installs from PyPI (pinned in constraints.txt); never a name PyPI does not have for us
    (the package is not published yet; PyPI's `mpkernel` is another project)."""
    pinned = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    commands = PIP_INSTALL.findall(README)
    assert len(commands) >= 4, commands
    for command in commands:
        words = shlex.split(command)
        while words and words[0].startswith("-"):
            words = words[2:] if words[0] in ("-c", "-r") else words[1:]
        for word in words:
            if word.startswith("-"):
                break
            name = re.split(r"[\[<>=]", word)[0].lower()
            local = word.startswith(".") or word.endswith(".whl") or word.endswith(".txt")
            assert local or name in pinned, f"README: `pip install {command}` names {word}"


def test_install_commands_are_the_ones_the_packaging_tests_run() -> None:
    """tests/test_packaging.py runs the README's install commands as written (slow)."""
    from test_packaging import readme_install_commands

    commands = readme_install_commands()
    assert commands["fresh"].startswith("python3 -m venv .venv && ")
    assert "mpkernel install --sys-prefix" in commands["fresh"]
    assert commands["existing"] == 'pip install ".[plot]"'
    assert "`.venv/bin/python -m build --wheel`" in README
    assert "--wheel" in cli_options(sys.executable, "-m", "build", "--help")


def test_readme_says_how_long_the_tests_take_and_what_needs_the_internet() -> None:
    assert re.search(r"takes about \d+ minutes on 2 cores", README)
    assert "Only two things need the internet" in README and "notebooks run offline" in README
