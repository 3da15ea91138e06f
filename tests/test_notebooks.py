"""The notebooks in notebooks/ run top to bottom, headless, on the virtual board."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mip_index
import nbformat
import pytest
from nbclient import NotebookClient

from mpkernel.libraries.installer import INDEX_ENV
from mpkernel.services.provenance import MIME

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


#: Headless runs take passwords from the environment (the simulated network's and a WebREPL one).
SECRETS = {"MPKERNEL_WIFI_PASSWORD": "correct-horse", "MPKERNEL_WEBREPL_PASSWORD": "s3cr3tpw"}


@pytest.fixture(scope="module")
def local_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A package index on 127.0.0.1 (%mip in notebook 02 installs from it, not the internet)."""
    with mip_index.serve(tmp_path_factory.mktemp("index")) as index:
        yield index.url


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_headless(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_index: str
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(INDEX_ENV, local_index)
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "micropython"
    NotebookClient(
        nb, timeout=120, kernel_name="micropython", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "".join(o.get("text", "") for o in outputs)
    assert texts, "the notebook printed nothing"
    if "matplotlib" in json.dumps([c.source for c in nb.cells]):  # a figure shows as an image
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        assert images, "a matplotlib figure left no image"
        figure_texts = [o for o in outputs if "<Figure" in json.dumps(o.get("data", {}))]
        assert figure_texts and all(o in images for o in figure_texts), "a figure as text only"
    # What running it added (01's text itself tells the simulated network's password).
    saved = json.dumps([*outputs, nb.metadata])
    assert not [v for v in SECRETS.values() if v in saved], "a password reached the outputs"


def test_getting_started_walks_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As README's headless section says: the simulated open network needs no WiFi password.
    monkeypatch.delenv("MPKERNEL_WIFI_PASSWORD", raising=False)
    monkeypatch.setenv("MPKERNEL_WEBREPL_PASSWORD", SECRETS["MPKERNEL_WEBREPL_PASSWORD"])
    path = Path(__file__).parent.parent / "notebooks" / "01-getting-started-esp8266.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=180, kernel_name="micropython", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    for step in (
        "ESP8266EX",  # chip info through the simulated bootloader
        "SHA-256 matches the record: True",
        "Flash erased",
        "verified (MD5 on the chip)",
        "MakerSpace",
        "connected: True",
        "this computer received: [b'hello']",
        "WebREPL server started on http://127.0.0.1:",  # boot.py's output at the reset
        "Listens on ws://127.0.0.1:",
        "Connected to MicroPython",
        "via WebREPL at ws://127.0.0.1:",
        "this cell ran over WebREPL on linux",
        "over-the-air.txt",
        "Restored esp8266-original.bin",
    ):
        assert step in text, step
    # The file went over WebREPL to the same board, and the notebook came back to its cable.
    assert "via the virtual board" in text.split("over-the-air.txt")[-1]
    original = (tmp_path / "esp8266-original.bin").read_bytes()
    assert len(original) == 4 * 1024 * 1024


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
