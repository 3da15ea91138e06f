"""mpkernel: a Jupyter kernel for MicroPython boards."""

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt extension is (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "mpkernel-labextension"}]
