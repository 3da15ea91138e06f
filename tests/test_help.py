"""Every magic %lsmagic lists explains itself (`-h`, `%help NAME`), and so does the command."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import run, start_kernel


@pytest.fixture(scope="module")
def kc():
    """A kernel that is not connected: asking for help needs no board."""
    km, kc = start_kernel()
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def listed_magics(kc) -> list[str]:
    r = run(kc, "%lsmagic")
    assert r.status == "ok", r.text
    names = [line.split()[0] for line in r.stdout.splitlines() if line.startswith("%")]
    assert "%connect" in names and "%%host" in names and "%help" in names
    return names


def test_every_listed_magic_explains_itself(kc) -> None:
    names = listed_magics(kc)
    for name in names:
        for code in (f"{name} -h", f"%help {name}", f"%help {name.lstrip('%')}"):
            if name.startswith("%%") and code.startswith("%%"):
                code += "\nprint('the body must not run')"
            r = run(kc, code)
            assert r.status == "ok", (code, r.text)
            assert r.error is None, code
            assert "the body must not run" not in r.text, code
            if code.startswith("%help") and name.startswith("%%") and "%%" not in code:
                continue  # `%help host` is the line magic %host, when there is one
            for cell_magic in re.findall(r"%%\w+", r.stdout):  # `%%` is not argparse's `%`
                assert cell_magic in names, (code, cell_magic)
            head = r.stdout.splitlines()[0]
            assert head.startswith(f"usage: {name}"), (code, r.stdout)
            assert len(r.stdout.splitlines()) > 2, (code, r.stdout)
    # The help magic's own help (a bare % in it once broke argparse's formatting).
    r = run(kc, "%help -h")
    assert r.status == "ok" and "with or without %" in r.stdout, r.text


def test_help_text_shows_percent_signs_as_typed(kc) -> None:
    assert "variables on the host (%%host cells)" in run(kc, "%push -h").stdout
    assert "written by %backup" in run(kc, "%restore -h").stdout
    assert "written by %backup" in run(kc, "%help restore").stdout


def test_host_cell_with_arguments_is_not_run_on_the_host(kc) -> None:
    r = run(kc, "%%host --bogus\nprint('ran')")
    assert r.status == "error" and r.error["ename"] == "UsageError"
    assert "--bogus" in r.error["evalue"] and "ran" not in r.stdout
    r = run(kc, "%%host\nprint('ran', 6 * 7)")
    assert r.status == "ok" and "ran 42" in r.stdout


def test_unknown_help_says_what_to_do(kc) -> None:
    r = run(kc, "%help nosuch")
    assert r.status == "error" and r.error["ename"] == "UsageError"
    assert "%lsmagic" in r.error["evalue"]


def _module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mpkernel", *args], capture_output=True, text=True, timeout=60
    )


def test_module_help_and_bad_command() -> None:
    r = _module("--help")
    assert r.returncode == 0
    assert r.stdout.startswith("usage: python -m mpkernel install")
    assert "-f FILE" in r.stdout and "MPKERNEL_PORT" in r.stdout
    assert "IPython" not in r.stdout  # not the IPython kernel application's own help
    r = _module("bogus")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "unknown command 'bogus'" in r.stderr
    r = _module("install", "--help")
    assert r.returncode == 0 and "--sys-prefix" in r.stdout
