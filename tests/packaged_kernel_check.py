"""Run inside a venv that holds the built wheel: start the installed kernelspec as Jupyter
does, run cells on the virtual board, and print one JSON line of what happened.

Used by test_packaging.py; not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from importlib import metadata

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import start_new_kernel


def run(kc, code: str) -> dict:
    texts: list[str] = []

    def hook(msg: dict) -> None:
        content = msg["content"]
        if msg["msg_type"] == "stream":
            texts.append(content["text"])
        elif msg["msg_type"] in ("execute_result", "display_data"):
            texts.append(content["data"].get("text/plain", ""))
        elif msg["msg_type"] == "error":
            texts.append(content["evalue"])

    reply = kc.execute_interactive(code, output_hook=hook, timeout=120)
    return {"status": reply["content"]["status"], "text": "".join(texts)}


def main() -> None:
    spec = KernelSpecManager().get_kernel_spec("micropython")
    km, kc = start_new_kernel(kernel_name="micropython", startup_timeout=120)
    try:
        cells = {
            "board": run(kc, "%connect virtual\nimport sys\nprint(sys.implementation.name, 6 * 7)"),
            "host": run(kc, "%%host\nimport ipykernel\nprint(ipykernel.__version__)"),
            "plot": run(kc, "%%plot\nprint(1, 2)"),
        }
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(
        json.dumps(
            {
                "ipykernel": metadata.version("ipykernel"),
                "spec_dir": spec.resource_dir,
                "owner": metadata.packages_distributions().get("mpkernel"),
                "matplotlib": importlib.util.find_spec("matplotlib") is not None,
                "prefix": sys.prefix,
                "cells": cells,
            }
        )
    )


if __name__ == "__main__":
    main()
