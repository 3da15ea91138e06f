"""The Jupyter server extension: the browser link's relay between a page and its kernel.

Enabled by `jupyter-config/jupyter_server_config.d/mpkernel.json`, which the wheel installs
into `etc/jupyter`: `pip install` is enough, as for the kernelspec and the labextension.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mpkernel.serverext"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from .relay import install

    install(serverapp)
