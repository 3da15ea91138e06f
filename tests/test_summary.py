"""The test command's summary says why tests were skipped, without -rs too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def test_skip_reasons_are_in_the_summary(tmp_path: Path) -> None:
    here = Path(__file__).parent
    shutil.copy(here / "conftest.py", tmp_path / "conftest.py")  # it imports helpers from here
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.parametrize('n', [1, 2])\n"
        "def test_needs_a_browser(n):\n"
        "    pytest.skip('no browser at /usr/bin/chromium (apt-get install chromium)')\n\n"
        "def test_runs():\n"
        "    pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(here)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert "2 skipped: no browser at /usr/bin/chromium (apt-get install chromium)" in lines
    assert "1 passed, 2 skipped" in lines[-1]
