"""Provenance: every connection leaves the board's identity in the notebook."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from conftest import run, start_kernel
from nbclient import NotebookClient

from mpkernel.board.virtual.board import VirtualBoard
from mpkernel.services.provenance import MIME


def records(r) -> list[dict]:
    return [d["data"][MIME] for d in r.of("display_data") if MIME in d["data"]]


def test_connect_records_provenance(fresh_kernel) -> None:
    _, kc = fresh_kernel
    r = run(kc, "%connect virtual")
    (rec,) = records(r)
    assert rec["port"]["kind"] == "virtual"
    assert rec["board"]["implementation"] == "micropython"
    assert rec["board"]["version"].count(".") == 2
    assert rec["board"]["mem_free"] > 0
    assert rec["host"]["mpkernel"]
    assert "mac" not in rec["board"]
    text = [d["data"]["text/plain"] for d in r.of("display_data")]
    assert any(t.startswith("Provenance: MicroPython") for t in text)


def test_provenance_magic_and_mac_only_on_request(fresh_kernel) -> None:
    _, kc = fresh_kernel
    run(kc, "%connect virtual")
    (rec,) = records(run(kc, "%provenance"))
    assert "mac" not in rec["board"]
    assert "--with-mac" in run(kc, "%provenance -h").stdout


def test_connect_at_start_is_recorded_by_the_first_cell(virtual_board: VirtualBoard) -> None:
    km, kc = start_kernel({"MPKERNEL_PORT": virtual_board.port})
    try:
        r = run(kc, "1 + 1")
        assert r.result == "2"
        assert len(records(r)) == 1
        assert records(run(kc, "2 + 2")) == []
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_headless_run_leaves_the_record_in_the_saved_notebook(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "micropython", "display_name": "MicroPython"}
    nb.cells = [nbformat.v4.new_code_cell("print('measuring')")]
    NotebookClient(nb, timeout=60, kernel_name="micropython").execute()
    path = tmp_path / "out.ipynb"
    nbformat.write(nb, path)
    saved = json.loads(path.read_text())
    outputs = saved["cells"][0]["outputs"]
    found = [o["data"][MIME] for o in outputs if o.get("data", {}).get(MIME)]
    assert found and found[0]["port"]["kind"] == "virtual"
