"""Run every notebook of a folder top to bottom with the `micropython` kernelspec Jupyter
finds (test_packaging.py points JUPYTER_PATH at a venv's), and print one JSON line per
notebook: the cells that ran, the last code cell's number, errors, and all text shown.

Used by test_packaging.py, inside a network namespace with only 127.0.0.1 (no internet);
not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient


def text_of(output: dict) -> str:
    data = output.get("data", {})
    return output.get("text", "") + data.get("text/plain", "") + output.get("evalue", "")


def run(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    failure = ""
    try:
        where = {"metadata": {"path": str(path.parent)}}
        NotebookClient(nb, timeout=300, kernel_name="micropython", resources=where).execute()
    except Exception as exc:  # what stopped the run, for the test's message
        failure = "".join(traceback.format_exception_only(type(exc), exc))[-2000:]
    outputs = [o for c in code for o in c.get("outputs", [])]
    ran = [i for i, c in enumerate(code) if c.get("execution_count")]
    return {
        "notebook": path.name,
        "code_cells": len(code),
        "last_ran": max(ran) if ran else -1,
        "failure": failure,
        "errors": [f"{o['ename']}: {o['evalue']}" for o in outputs if o.output_type == "error"],
        "text": "".join(text_of(o) for o in outputs),
    }


def main() -> None:
    spec = KernelSpecManager().get_kernel_spec("micropython")
    print(json.dumps({"spec_dir": spec.resource_dir, "argv": spec.argv}), flush=True)
    for path in sorted(Path(sys.argv[1]).glob("*.ipynb")):
        print(json.dumps(run(path)), flush=True)


if __name__ == "__main__":
    main()
