"""Kernel start (issue 28): where the first cell will use the virtual board, its process
starts with the kernel, and that first cell uses it; a kernel that connects elsewhere stops
it, and a kernel told its board (MPKERNEL_PORT) starts none."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
from conftest import run, start_kernel
from jupyter_client.manager import KernelManager

from mpkernel.board.virtual.board import VirtualBoard

RELAY = "mpkernel.board.virtual.board"


def boards_of(km: KernelManager) -> list[int]:
    """The pids of the virtual boards that the kernel process started."""
    pid = getattr(km.provisioner, "pid", None)
    assert pid, "the kernel's process is not known"
    kernel = psutil.Process(pid)
    found = []
    for child in kernel.children():
        try:
            if RELAY in child.cmdline():
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def wait_for(condition, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_first_cell_uses_the_board_started_with_the_kernel() -> None:
    km, kc = start_kernel()
    try:
        started = boards_of(km)
        assert len(started) == 1, started  # running before any cell
        r = run(kc, "x = 6 * 7\nprint(x)")
        assert (r.status, r.stdout.splitlines()[-1:]) == ("ok", ["42"]), r.text
        assert "using the virtual board" in r.text
        assert boards_of(km) == started  # that one, and no other
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_connecting_to_another_board_stops_the_early_one(tmp_path: Path) -> None:
    with VirtualBoard(root=tmp_path) as vb:
        km, kc = start_kernel()
        try:
            assert len(boards_of(km)) == 1
            r = run(kc, f"%connect {vb.port}")
            assert r.status == "ok", r.text
            assert wait_for(lambda: boards_of(km) == []), boards_of(km)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def test_a_kernel_told_its_board_starts_no_virtual_one(tmp_path: Path) -> None:
    with VirtualBoard(root=tmp_path) as vb:
        km, kc = start_kernel({"MPKERNEL_PORT": vb.port})
        try:
            assert run(kc, "print(1)").status == "ok"
            assert boards_of(km) == []
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
