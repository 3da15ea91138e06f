"""Kernel start imports only what a first cell needs (issue 28): the magics' heavy
libraries load when a magic is first looked up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mpkernel.magics import registry

#: websocket (websocket-client) serves WebREPL links only: a first cell on a serial or the
#: virtual board never needs it.
HEAVY = (
    "esptool", "ipywidgets", "mpkernel.flash", "mpkernel.widgets", "mpkernel.libraries",
    "websocket",
)  # fmt: skip


def loaded_after(code: str) -> set[str]:
    """Which HEAVY modules a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return set(out.stdout.split())


def test_the_kernel_module_imports_none_of_the_heavy_libraries() -> None:
    assert loaded_after("import mpkernel.kernel") == set()


def test_looking_up_a_magic_loads_every_group() -> None:
    code = "from mpkernel.magics import MAGICS\nassert '%flash' in MAGICS and '%mip' in MAGICS"
    assert {"esptool", "mpkernel.flash", "mpkernel.libraries"} <= loaded_after(code)


def test_every_magic_group_is_listed_for_the_first_lookup() -> None:
    package = Path(registry.__file__).parent
    modules = {p.stem for p in package.glob("*.py")} - {"__init__", "registry"}
    assert set(registry.GROUPS) == modules
