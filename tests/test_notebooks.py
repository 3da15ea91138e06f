"""The notebooks in notebooks/ run top to bottom, headless, on the virtual board."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mpkernel.provenance import MIME

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_headless(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "micropython"
    NotebookClient(
        nb, timeout=120, kernel_name="micropython", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "".join(o.get("text", "") for o in outputs)
    assert texts, "the notebook printed nothing"


def test_hello_board_shows_board_results(tmp_path: Path) -> None:
    path = Path(__file__).parent.parent / "notebooks" / "00-hello-board.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="micropython").execute()
    results = [
        o["data"]["text/plain"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o.output_type == "execute_result"
    ]
    assert "42" in results and "140" in results
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Hello from linux" in text
    assert "tick 2" in text
    assert "the board said:" in text
    assert "This cell ran on the host: CPython" in text


def test_nbconvert_execute_with_mpkernel_port(tmp_path: Path) -> None:
    source = Path(__file__).parent.parent / "notebooks" / "03-reproducible-experiment.ipynb"
    target = tmp_path / "03.ipynb"
    target.write_bytes(source.read_bytes())
    env = {**os.environ, "MPKERNEL_PORT": "virtual"}
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--inplace", str(target)],
        cwd=tmp_path, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    nb = nbformat.read(target, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(MIME in o.get("data", {}) for o in outputs)
    result = json.loads((tmp_path / "experiment-result.json").read_text())
    assert result["samples"] == 50 and result["provenance"]["port"]["kind"] == "virtual"


def test_papermill_with_parameters(tmp_path: Path) -> None:
    import papermill

    source = Path(__file__).parent.parent / "notebooks" / "03-reproducible-experiment.ipynb"
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(source), str(out), parameters={"samples": 12}, cwd=str(tmp_path),
        kernel_name="micropython", progress_bar=False,
    )  # fmt: skip
    result = json.loads((tmp_path / "experiment-result.json").read_text())
    assert result["samples"] == 12
    saved = nbformat.read(out, as_version=4)
    assert any(
        MIME in o.get("data", {}) for c in saved.cells if c.cell_type == "code" for o in c.outputs
    )
