"""Shared fixtures: real kernels (started as Jupyter starts them) on the virtual board."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel
from microbit import MicrobitUnavailable, qemu_microbit

from mpkernel.board.links.serial_transport import SerialTransport
from mpkernel.board.repl.rawrepl import ExecResult, RawRepl
from mpkernel.board.virtual.board import VirtualBoard


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Why tests were skipped, one line per reason, without -rs too: a bare "2 skipped"
    (the browser tests, where no Chromium is installed) says nothing."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            reasons[str(report.longrepr[2]).removeprefix("Skipped: ")] += 1
    for reason, count in reasons.items():
        terminalreporter.write_line(f"{count} skipped: {reason}")


@pytest.fixture(scope="session", autouse=True)
def kernelspec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A `micropython` kernelspec that runs this interpreter, found first by Jupyter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "micropython"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "mpkernel", "-f", "{connection_file}"],
                "display_name": "MicroPython",
                "language": "python",
                "interrupt_mode": "signal",
            }
        )
    )
    # A history database of this test session only, not the developer's.
    os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(root) + (os.pathsep + old if old else "")
    # Tests choose their board explicitly; nothing from the developer's shell leaks in.
    os.environ.pop("MPKERNEL_PORT", None)
    yield root
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


@dataclass
class Run:
    """What one execute request produced, as a frontend sees it."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # arrival time of each message

    @property
    def status(self) -> str:
        return self.reply["status"]

    def of(self, msg_type: str) -> list[dict[str, Any]]:
        return [m["content"] for m in self.messages if m["msg_type"] == msg_type]

    @property
    def stdout(self) -> str:
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stderr")

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    @property
    def shown(self) -> str:
        """Streams plus the text/plain of displays and their updates (progress lines)."""
        texts = [
            m["content"]["data"].get("text/plain", "") + "\n"
            for m in self.messages
            if m["msg_type"] in ("display_data", "update_display_data")
        ]
        return self.text + "".join(texts)

    @property
    def result(self) -> str | None:
        results = self.of("execute_result")
        return results[0]["data"]["text/plain"] if results else None

    @property
    def error(self) -> dict[str, Any] | None:
        errors = self.of("error")
        return errors[0] if errors else None


def as_cell(code: str, r: Run) -> Any:
    """The notebook cell a frontend would save for this run (code and outputs)."""
    import nbformat

    cell = nbformat.v4.new_code_cell(code)
    cell.outputs = [
        nbformat.v4.output_from_msg(m)
        for m in r.messages
        if m["msg_type"] in ("stream", "display_data", "execute_result", "error")
    ]
    return cell


#: A cell's names: among them those board helpers once used as their own (and deleted), and
#: the modules helpers import (a user's `os = 5` stays 5 after %ls).
CELL_NAMES = (
    "x, n, s, P, T, _f, _d, _i, _n, _a, os, sys, gc, io, hashlib, machine = "
    "5, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16"
)


def cell_names_changed(kc: BlockingKernelClient) -> str:
    """ "" when CELL_NAMES (set by a cell) still hold their values on the board, else what
    the board says of them."""
    names, values = CELL_NAMES.split(" = ")
    r = run(kc, f"print({names})")
    return "" if r.status == "ok" and r.stdout.split() == values.split(", ") else r.text


def run(kc: BlockingKernelClient, code: str, timeout: float = 30, **kwargs: Any) -> Run:
    """Execute code and collect every iopub message until the kernel is idle again."""
    messages: list[dict[str, Any]] = []
    times: list[float] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] not in ("status", "execute_input"):
            messages.append(msg)
            times.append(time.monotonic())

    reply = kc.execute_interactive(code, output_hook=hook, timeout=timeout, **kwargs)
    return Run(reply["content"], messages, times)


def assert_interrupt_keeps_state(
    km: KernelManager, kc: BlockingKernelClient, within: float
) -> None:
    """The kernel's interrupt stops an endless loop on the board within `within` seconds,
    and the board keeps its variables."""
    run(kc, "kept = 11")
    timer = threading.Timer(1.0, km.interrupt_kernel)
    timer.start()
    start = time.monotonic()
    r = run(kc, "while True:\n    pass", timeout=20)
    assert r.reply["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - start < within
    assert run(kc, "kept").result == "11"


def start_kernel(env: dict[str, str] | None = None) -> tuple[KernelManager, BlockingKernelClient]:
    extra = dict(env or {})
    km, kc = start_new_kernel(kernel_name="micropython", env={**os.environ, **extra})
    return km, kc


def connected_kernel(
    line: str = "%connect virtual",
) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    """A kernel that ran `line` (a %connect), shut down when the generator ends."""
    km, kc = start_kernel()
    first = run(kc, line)
    assert first.status == "ok", first.text
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@contextmanager
def kernel_on_board(root: Path, **options: Any) -> Iterator[BlockingKernelClient]:
    """A kernel connected to a virtual board of its own, started with `options` (heap,
    hide, legacy...) on the folder `root`; both stop when the block ends."""
    root.mkdir(parents=True, exist_ok=True)
    with VirtualBoard(root=root, **options) as vb:
        km, kc = start_kernel()
        try:
            first = run(kc, f"%connect {vb.port}")
            assert first.status == "ok", first.text
            yield kc
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel() -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    """A kernel connected to its own virtual board, shared by a test module."""
    yield from connected_kernel()


@pytest.fixture
def kc(kernel: tuple[KernelManager, BlockingKernelClient]) -> BlockingKernelClient:
    return kernel[1]


@pytest.fixture(scope="module")
def board_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a test module's virtual board (the board's `/`)."""
    return tmp_path_factory.mktemp("board")


@pytest.fixture(scope="module")
def rooted_kernel(board_root: Path) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    """A kernel connected to a virtual board on board_root, shared by a test module."""
    yield from connected_kernel(f"%connect virtual --root {board_root}")


@pytest.fixture
def fresh_kernel() -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    """A kernel of its own, not yet connected, for tests that break or restart things."""
    km, kc = start_kernel()
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture
def virtual_board(tmp_path: Path) -> Iterator[VirtualBoard]:
    """A virtual board owned by the test (not the kernel), with its filesystem in tmp_path."""
    board = VirtualBoard(root=tmp_path)
    yield board
    board.stop()


class WireLog(SerialTransport):
    """The real serial transport, keeping what crossed it (both ways)."""

    def __init__(self, port: str) -> None:
        super().__init__(port)
        self.sent = bytearray()
        self.received = bytearray()

    def write(self, data: bytes) -> None:
        self.sent += data
        super().write(data)

    def read(self, timeout: float) -> bytes:
        data = super().read(timeout)
        self.received += data
        return data


@pytest.fixture
def repl(virtual_board: VirtualBoard) -> Iterator[RawRepl]:
    """The raw REPL of the test's virtual board, in raw mode, over a WireLog."""
    transport = WireLog(virtual_board.port)
    r = RawRepl(transport)
    r.enter()
    yield r
    transport.close()


def run_raw(r: RawRepl, code: str) -> tuple[bytes, ExecResult]:
    """Run code through the raw REPL: what it printed, and the run's result."""
    out = bytearray()
    result = r.exec(code, out.extend)
    return bytes(out), result


@pytest.fixture(scope="module")
def microbit_port() -> Iterator[str]:
    """The BBC micro:bit's MicroPython 1.9.2 under QEMU (tests/microbit.py), its PTY's path.
    Where it cannot start the test is skipped, saying what to install; under CI it fails."""
    try:
        with qemu_microbit() as port:
            yield port
    except MicrobitUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the QEMU micro:bit: {exc}")
        pytest.skip(str(exc))
