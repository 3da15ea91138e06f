"""Writing a file on this computer so that it is never seen half written."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes, temp: Path | None = None) -> None:
    """Write `data` to `temp` (default: `path` + ".part", beside it), then rename it over
    `path`: a reader finds the old file or the whole new one. Raises OSError."""
    temp = temp or path.with_name(path.name + ".part")
    temp.write_bytes(data)
    os.replace(temp, path)
