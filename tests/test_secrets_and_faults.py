"""Processes we start for a board hold no secrets, and the stop button stops only the
board's program (issue 14)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from conftest import run, start_kernel


def processes(marker: bytes) -> dict[int, bytes]:
    """Running processes whose command line holds marker: pid -> environment."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes():
                found[int(proc.name)] = (proc / "environ").read_bytes()
        except OSError:
            continue
    return found


def test_board_processes_get_no_secrets() -> None:
    secrets = {"MPKERNEL_WIFI_PASSWORD": "hunter2-wifi", "MPKERNEL_WEBREPL_PASSWORD": "pw9x"}
    km, kc = start_kernel(secrets)
    try:
        assert run(kc, "%connect virtual").status == "ok"
        r = run(kc, "import os\nprint(os.getenv('MPKERNEL_WIFI_PASSWORD'))")
        assert r.stdout == "None\n", r.text
        envs = {**processes(b"micropython_unix"), **processes(b"mpkernel.board.virtual.board")}
        assert envs
        for env in envs.values():
            assert b"hunter2-wifi" not in env and b"pw9x" not in env
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_stop_button_spares_the_simulated_bootloader() -> None:
    pytest.importorskip("esp32_mock_bootloader", reason="esp32-mock-bootloader missing")
    km, kc = start_kernel()
    try:
        assert run(kc, "%connect virtual").status == "ok"
        before = set(processes(b"mpkernel.flash.mock"))
        first = run(kc, "%chipinfo", timeout=60)
        assert first.status == "ok", first.text
        simulator = set(processes(b"mpkernel.flash.mock")) - before
        assert len(simulator) == 1
        timer = threading.Timer(0.5, km.interrupt_kernel)
        timer.start()
        r = run(kc, "while True:\n    pass", timeout=20)
        assert r.reply["ename"] == "KeyboardInterrupt"
        assert simulator <= set(processes(b"mpkernel.flash.mock"))  # still the same one
        again = run(kc, "%chipinfo", timeout=60)
        assert again.status == "ok", again.text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_wifi_panel_password_never_reaches_the_kernel_log(tmp_path: Path) -> None:
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="micropython")
    log = tmp_path / "kernel.log"
    with log.open("w") as err:
        km.start_kernel(extra_arguments=["--debug"], stderr=err)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        assert run(kc, "%connect virtual").status == "ok"
        r = run(kc, "%wifi", timeout=60)
        opened = [
            m["content"]
            for m in r.messages
            if m["msg_type"] == "comm_open"
            and m["content"]["data"].get("state", {}).get("_model_name") == "PasswordModel"
        ]
        assert opened, r.text
        comm_id = opened[0]["comm_id"]
        state = {"method": "update", "state": {"value": "hunter2-typed"}, "buffer_paths": []}
        kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": state}))
        assert run(kc, "print(2)").stdout == "2\n"  # the comm message was handled before
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    text = log.read_text()
    assert "comm_msg" in text  # debug logging was on and logged the message
    assert "hunter2-typed" not in text


def test_board_process_dying_mid_cell_is_an_error_saying_so(tmp_path: Path) -> None:
    from mpkernel.board.virtual.board import VirtualBoard

    km, kc = start_kernel()
    vb = VirtualBoard(root=tmp_path)
    try:
        assert run(kc, f"%connect {vb.port}").status == "ok"
        run(kc, "lost = 1")
        relay = vb._proc.pid

        def kill_micropython() -> None:
            for proc in Path("/proc").iterdir():
                try:
                    stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                    if proc.name.isdigit() and int(stat[1]) == relay:
                        os.kill(int(proc.name), signal.SIGKILL)  # the MicroPython child
                except (OSError, IndexError, ValueError):
                    continue

        threading.Timer(0.5, kill_micropython).start()
        r = run(kc, "while True:\n    pass", timeout=20)
        assert r.status == "error"
        assert r.reply["ename"] == "BoardReset", r.reply
        assert "reset during this cell" in r.reply["evalue"]
        assert run(kc, "print('lost' in globals())").stdout == "False\n"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        vb.stop()
