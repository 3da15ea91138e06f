"""mpkernel: a Jupyter kernel for MicroPython boards."""

__version__ = "0.1.0"

#: The name to `pip install` (PyPI's `mpkernel` is an unrelated project).
DISTRIBUTION = "micropython-board-kernel"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt extension is (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "mpkernel-labextension"}]
