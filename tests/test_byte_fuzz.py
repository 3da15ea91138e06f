"""Fuzz: cells whose string literals and printed output hold any byte 0-255, some stopped by
the stop button, through the kernel on the virtual board; every byte must come back exact
and the link must stay in step (issue 14).

CI runs MPKERNEL_FUZZ_CELLS cells (default 120); `bench/fuzz_bytes.py` runs 10,000.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
from conftest import run
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

CELLS = int(os.environ.get("MPKERNEL_FUZZ_CELLS", "120"))
#: Each cell's own waits have deadlines (a cell 60 s, its check 30 s). The whole test, all
#: CELLS of them, gets a deadline that grows with their number: 0.2 s a cell here when the
#: machine is quiet, ten times that when it is busy, where the suite's 120 s for one test
#: ran out although every cell matched.
SECONDS_PER_CELL = 5
COUNTS: Counter[str] = Counter()


def literal(data: bytes, as_bytes: bool) -> str:
    """The cell source of a literal holding data, as a user would type or paste it:
    control characters as they are (the kernel must make them travel), only what the
    syntax demands escaped."""
    out = []
    for b in data:
        if b in (0x27, 0x5C):  # quote, backslash
            out.append("\\" + chr(b))
        elif b == 0x0A:
            out.append("\\n")  # a newline cannot be typed into a '...' literal
        elif as_bytes and b >= 0x80:
            out.append(f"\\x{b:02x}")  # bytes literals hold ASCII only
        else:
            out.append(chr(b))
    return ("b'" if as_bytes else "'") + "".join(out) + "'"


def checksum(data: bytes) -> int:
    return sum((i + 1) * b for i, b in enumerate(data)) % 1_000_003


def shown(data: bytes) -> str:
    """What the notebook shows for bytes the board printed (UTF-8, \\r\\n as \\n)."""
    return data.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    """Print what ran (seen with -s, as bench/fuzz_bytes.py runs it)."""
    yield
    print(f"\nfuzz through the kernel: {dict(COUNTS)}; every cell matched (0 mismatches)")


some_bytes = st.one_of(st.binary(max_size=40), st.binary(min_size=100, max_size=400))
cells = st.tuples(
    some_bytes,  # in a literal
    st.booleans(),  # a bytes literal (else str)
    some_bytes,  # printed as raw bytes
    st.booleans(),  # then spin until the stop button
)


@pytest.mark.timeout(60 + SECONDS_PER_CELL * CELLS)
@settings(
    max_examples=CELLS,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cell=cells)
@example(cell=(bytes(range(256)), False, bytes(range(256)), False))
@example(cell=(bytes(range(128)), True, bytes(range(255, -1, -1)), True))
@example(cell=(b"", False, b"\x11\x04\x04\x1b\x81r", True))  # held as a sys.exit()'s
@example(cell=(b"", False, b"\x04\x04>", True))  # held as an end a thread printed after
def test_every_byte_travels_exactly(kernel, cell: tuple[bytes, bool, bytes, bool]) -> None:
    km, kc = kernel
    data, as_bytes, printed, spin = cell
    COUNTS["cells"] += 1
    COUNTS["interrupted"] += spin
    values = "s" if as_bytes else "bytes(ord(c) for c in s)"
    code = (
        f"s = {literal(data, as_bytes)}\n"
        f"v = {values}\n"
        "print(len(v), sum((i + 1) * b for i, b in enumerate(v)) % 1000003)\n"
        f"import sys\nsys.stdout.buffer.write({literal(printed, True)})\n"
        "print('<end>')\n"
    )
    if spin:
        code += "while True:\n    pass\n"
    expected = f"{len(data)} {checksum(data)}\n" + shown(printed + b"<end>\n")
    seen: list[str] = []
    stopped: list[bool] = []

    def watch(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            seen.append(msg["content"]["text"])
            if spin and not stopped and "".join(seen).endswith("<end>\n"):
                stopped.append(True)
                km.interrupt_kernel()  # the stop button, once

    reply = kc.execute_interactive(code, output_hook=watch, timeout=60)["content"]
    assert "".join(seen) == expected
    if spin:
        assert reply["ename"] == "KeyboardInterrupt"
    else:
        assert reply["status"] == "ok", reply
    r = run(kc, "print(2)")
    assert r.stdout == "2\n"
    COUNTS["bytes out"] += len(printed)
    COUNTS["bytes in literals"] += len(data)
