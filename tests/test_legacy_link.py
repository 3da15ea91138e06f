"""Old firmware (no raw-paste) behind a UART that drops what overflows a 64-byte buffer:
long cells arrive intact or not at all, never as different code (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run
from lossy_uart import lossy

from mpkernel.board.virtual.board import VirtualBoard


@pytest.fixture
def lossy_port(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with VirtualBoard(root=tmp_path / "board", legacy=True) as vb:
        stats = tmp_path / "dropped"
        with lossy(vb.port, stats) as port:
            yield port, stats


def long_cell(n: int, tag: int) -> str:
    lines = [f"v{i} = {i} * {tag}  # a comment to make the line longer {i:04d}" for i in range(n)]
    return "\n".join(lines) + "\nprint('total', " + "+".join(f"v{i}" for i in range(n)) + ")"


@pytest.mark.timeout(400)  # 1.6 KB/s once the link has shown it loses bytes
def test_long_cells_arrive_intact_through_a_lossy_uart(fresh_kernel, lossy_port) -> None:
    _, kc = fresh_kernel
    port, stats = lossy_port
    r = run(kc, f"%connect {port}", timeout=120)  # probing the board goes slowly here
    assert r.status == "ok", r.text
    for tag in range(1, 8):
        r = run(kc, long_cell(40, tag), timeout=60)
        assert (r.status, r.stdout) == ("ok", f"total {tag * 780}\n"), r.text
    # The link really lost bytes on the way (and the kernel sent those cells again).
    assert int(stats.read_text()) > 0
    # Errors name the user's lines, as if the code had been sent as it is.
    r = run(kc, long_cell(30, 1) + "\nraise ValueError('line 32')", timeout=60)
    assert r.reply["evalue"] == "line 32"
    assert any('File "<stdin>", line 32' in line for line in r.error["traceback"])
    assert not any("<string>" in line for line in r.error["traceback"])
    r = run(kc, "print(2)")
    assert (r.status, r.stdout) == ("ok", "2\n")
