"""The package as users get it: `python -m build`, `twine check`, and the wheel installed
into an existing Jupyter, on ipykernel 6.29 and on 7.x.

Installing into a venv that already holds a given ipykernel must leave that version in
place (the dependencies are ranges), and the installed kernelspec must run cells on the
virtual board. The kernel-level tests also run once more on ipykernel 6.29, in that venv.
Every other package comes at the version CI tests (constraints.txt).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpkernel import DISTRIBUTION

ROOT = Path(__file__).resolve().parent.parent
#: The ipykernel majors we support: the last 6.x and the 7.x that constraints.txt pins.
IPYKERNELS = ["6.29.5", "7.4.0"]
#: Kernel-level test files run again on ipykernel 6 (the whole suite runs on 7).
KERNEL_TESTS = [
    "tests/test_kernel.py",
    "tests/test_conformance.py",
    "tests/test_host.py",
    "tests/test_bad_input.py",
    "tests/test_ports.py",
]

#: What those tests need besides the kernel (versions from constraints.txt).
TEST_TOOLS = ["pytest", "pytest-timeout", "jupyter-kernel-test", "nbformat", "nbclient"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def sh(*cmd: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )
    assert result.returncode == 0, f"{cmd}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def clean_env(tmp: Path) -> dict[str, str]:
    """This test session's Jupyter settings removed: only the venv's own kernelspec counts."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "MPKERNEL_", "PYTHON", "VIRTUAL_ENV"))
    }
    env |= {
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "IPYTHONDIR": str(tmp / "ipython"),
    }
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel, the wheel built from the sdist (as `python -m build` does)."""
    out = tmp_path_factory.mktemp("dist")
    sh(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return out


@pytest.fixture(scope="module")
def constraints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """constraints.txt without its ipykernel line: each venv chooses its ipykernel."""
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    path = tmp_path_factory.mktemp("constraints") / "constraints.txt"
    path.write_text("\n".join(x for x in lines if not x.startswith("ipykernel==")) + "\n")
    return path


@pytest.fixture(scope="module", params=IPYKERNELS, ids=lambda v: f"ipykernel-{v}")
def jupyter(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, constraints: Path
) -> Iterator[tuple[str, Path]]:
    """An existing Jupyter: a venv that holds ipykernel==VERSION before we come."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    sh(sys.executable, "-m", "venv", venv)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "-c", constraints]
    sh(*pip, f"ipykernel=={request.param}")
    yield request.param, venv


def test_wheel_and_sdist_pass_twine_check(dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"], files
    out = sh(sys.executable, "-m", "twine", "check", "--strict", *files).stdout
    assert out.count("PASSED") == 2, out


def test_sdist_contains_the_tests_and_the_constraints(dist: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for needed in (
        "tests/conftest.py",
        "tests/test_kernel.py",
        "tests/test_packaging.py",
        "tests/packaged_kernel_check.py",
        "constraints.txt",
        "mpkernel/resources/kernelspec/kernel.json",
        "mpkernel/board/helpers",
    ):
        assert any(n == needed or n.startswith(needed + "/") for n in names), needed


def test_wheel_keeps_the_installed_ipykernel_and_runs_a_cell(
    jupyter: tuple[str, Path], dist: Path, constraints: Path, tmp_path: Path
) -> None:
    version, venv = jupyter
    python = venv / "bin" / "python"
    [wheel] = dist.glob("*.whl")
    sh(python, "-m", "pip", "install", "-q", "-c", constraints, wheel)
    out = sh(
        python,
        ROOT / "tests" / "packaged_kernel_check.py",
        cwd=tmp_path,
        env=clean_env(tmp_path),
        timeout=600,
    ).stdout
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["ipykernel"] == version  # not upgraded nor downgraded
    assert Path(seen["spec_dir"]).is_relative_to(venv)  # registered by `pip install` alone
    assert seen["owner"] == [DISTRIBUTION]
    board, host, plot = (seen["cells"][k] for k in ("board", "host", "plot"))
    assert board["status"] == "ok" and "micropython 42" in board["text"], board
    assert host["status"] == "ok" and host["text"].strip() == version, host
    # No `plot` extra here: %%plot says what to install (from PyPI, as written), in one line.
    assert not seen["matplotlib"]
    assert plot["status"] == "error" and "pip install matplotlib pandas" in plot["text"], plot
    assert "\n" not in plot["text"].strip()


def test_kernel_tests_pass_on_ipykernel_6(
    jupyter: tuple[str, Path], constraints: Path, tmp_path: Path
) -> None:
    version, venv = jupyter
    if not version.startswith("6."):
        pytest.skip("the whole suite runs on ipykernel 7 already")
    python = venv / "bin" / "python"
    sh(python, "-m", "pip", "install", "-q", "-c", constraints, "-e", f"{ROOT}[plot]", *TEST_TOOLS)
    assert sh(python, "-c", "import ipykernel; print(ipykernel.__version__)").stdout.strip() == (
        version
    )
    pytest_args = ["-q", "-p", "no:cacheprovider", "-m", "not slow", *KERNEL_TESTS]
    result = subprocess.run(
        [python, "-m", "pytest", *pytest_args],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.strip().splitlines()[-1]


# -- every notebook after each documented install, with no internet ------------------------

README = (ROOT / "README.md").read_text()
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
#: Headless runs read passwords from the environment (README, "Headless runs").
NOTEBOOK_ENV = {"MPKERNEL_WEBREPL_PASSWORD": "s3cr3tpw"}


def readme_install_commands() -> dict[str, str]:
    """The README's two install commands, as written: the first set-up command up to its
    `jupyter lab`, and the one for a Jupyter you already have."""
    first = re.search(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert first is not None
    fresh = first.group(1).split(" && .venv/bin/jupyter lab")[0]
    existing = re.search(r"from this folder: `(pip install [^`]+)`", README)
    assert existing is not None, "README names no install into an existing Jupyter"
    return {"fresh": fresh, "existing": existing.group(1)}


def offline_prefix() -> list[str]:
    """A command prefix that runs in a network namespace of its own: only 127.0.0.1 works,
    so nothing reaches the internet (nor a local mirror), whatever proxy is set."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("no unshare/ip here to cut the network off (util-linux, iproute2)")
    prefix = ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.strip()[:200]}")
    return prefix


@pytest.fixture(scope="module", params=["fresh", "existing"])
def documented_install(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, constraints: Path
) -> tuple[str, Path]:
    """A venv made by one of the README's install commands, run as written from this folder
    (`.venv` renamed to a venv of the test's own): "fresh", the first set-up command up to
    `jupyter lab`; "existing", a venv that holds ipykernel 6.29 and nbclient (an older
    Jupyter) before the existing-Jupyter command runs with its pip. pip takes CI's versions
    for the rest (PIP_CONSTRAINT, without its ipykernel line), as a mirror of PyPI pins them."""
    command = readme_install_commands()[request.param]
    venv = tmp_path_factory.mktemp(request.param) / "venv"
    env = {**os.environ, "PIP_CONSTRAINT": str(constraints)}
    if request.param == "fresh":
        command = command.replace("-m venv .venv", f"-m venv {venv}")
        command = command.replace(".venv/bin/", f"{venv}/bin/")
    else:
        sh(sys.executable, "-m", "venv", venv)
        sh(venv / "bin" / "python", "-m", "pip", "install", "-q", f"ipykernel=={IPYKERNELS[0]}",
           "nbclient", "nbformat", env=env)  # fmt: skip
        command = f"{venv}/bin/{command}"
    sh("bash", "-c", command, cwd=ROOT, env=env, timeout=2400)
    if request.param == "existing":
        code = "import ipykernel; print(ipykernel.__version__)"
        version = sh(venv / "bin" / "python", "-c", code)
        assert version.stdout.strip() == IPYKERNELS[0]  # the Jupyter there keeps its version
    return request.param, venv


@pytest.mark.timeout(5400)  # two installs and eight notebook runs: long on a busy machine
def test_every_notebook_runs_offline_after_each_documented_install(
    documented_install: tuple[str, Path], tmp_path: Path
) -> None:
    """Each notebook reaches its last cell on the virtual board, from a copy of notebooks/,
    with the kernelspec that install registered (run by the venv's Python, as Jupyter
    there runs it), in a network namespace with only
    127.0.0.1: %mip in notebook 02 says micropython.org cannot be reached and installs
    from the packages that come with mpkernel; nothing prints ipykernel's TCP warning."""
    kind, venv = documented_install
    prefix = offline_prefix()
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    env = clean_env(tmp_path) | NOTEBOOK_ENV
    result = subprocess.run(
        [*prefix, venv / "bin" / "python", ROOT / "tests" / "notebooks_offline_check.py",
         tmp_path / "notebooks"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    spec, *runs = (json.loads(line) for line in result.stdout.strip().splitlines())
    assert Path(spec["spec_dir"]).is_relative_to(venv), spec  # the install's own kernel
    assert Path(spec["argv"][0]).is_relative_to(venv) or spec["argv"][0] == "python", spec
    assert [r["notebook"] for r in runs] == NOTEBOOKS
    for run in runs:
        where = f"{kind}: {run['notebook']}"
        assert not run["failure"] and not run["errors"], (where, run["failure"], run["errors"])
        assert run["last_ran"] == run["code_cells"] - 1, where
    by_name = {r["notebook"]: r["text"] for r in runs}
    lab = by_name["02-lab-blink-and-sensors.ipynb"]
    assert "micropython.org cannot be reached: installing from the packages that come" in lab
    assert "median light:" in lab
    assert "ESP8266EX" in by_name["01-getting-started-esp8266.ipynb"]
    assert "without encryption" not in result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
