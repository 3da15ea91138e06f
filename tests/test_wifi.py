"""%wifi on the virtual board's simulated ESP8266 WiFi, driven as Jupyter drives the kernel.

The simulated access points (mpkernel/board/virtual/sim/network.py): MakerSpace (WPA2,
"correct-horse"), LabNet (WPA/WPA2, "labpass123"), CoffeeShop (open), Neighbour-5G, and a
hidden one. Passwords reach the kernel only through the hidden prompt, environment
variables, or a widget update message, as they would from a user.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import Run, as_cell, run, start_kernel
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

from mpkernel.services import wifi

MAKERSPACE_PW = "correct-horse"
LABNET_PW = "labpass123"
AP_PW = "ap-secret-991"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def answer(kc: BlockingKernelClient, secret: str, asked: list[str]) -> Callable[[Any], None]:
    """A stdin hook that types `secret` into a hidden (password) prompt, as a user would."""

    def hook(msg: dict[str, Any]) -> None:
        assert msg["content"]["password"] is True
        asked.append(msg["content"]["prompt"])
        kc.input(secret)

    return hook


def prompted(kc: BlockingKernelClient, code: str, secret: str, timeout: float = 40) -> Run:
    asked: list[str] = []
    result = run(kc, code, timeout=timeout, allow_stdin=True, stdin_hook=answer(kc, secret, asked))
    assert asked, "no password prompt was shown"
    return result


def error_text(r: Run) -> str:
    return r.error["evalue"] if r.error else ""


@pytest.fixture(scope="module")
def wifi_kernel(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[KernelManager, BlockingKernelClient, Path]]:
    root = tmp_path_factory.mktemp("wifiboard")
    km, kc = start_kernel({"LABNET_PW": LABNET_PW, "MAKER_PW": MAKERSPACE_PW})
    assert run(kc, f"%connect virtual --root {root}").status == "ok"
    yield km, kc, root
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture
def wk(wifi_kernel: tuple[KernelManager, BlockingKernelClient, Path]) -> BlockingKernelClient:
    kc = wifi_kernel[1]
    run(kc, "%wifi forget")
    run(kc, "%wifi ap off")
    return kc


def test_scan_table_sorted_by_signal_with_security(wk: BlockingKernelClient) -> None:
    r = run(wk, "%wifi scan")
    assert r.status == "ok", r.text + error_text(r)
    shown = r.of("display_data")
    assert len(shown) == 1
    data = shown[0]["data"]
    assert "<table>" in data["text/html"] and "<th>RSSI</th>" in data["text/html"]
    text = data["text/plain"]
    lines = text.splitlines()
    assert lines[0].split() == ["SSID", "BSSID", "Channel", "RSSI", "Security", "Hidden"]
    names = [line.split()[0] for line in lines[2:7]]
    assert names == ["MakerSpace", "LabNet", "(hidden)", "CoffeeShop", "Neighbour-5G"]
    maker = lines[2]
    assert "24:0a:c4:11:22:33" in maker and "-48 dBm ▂▄▆█" in maker and "WPA2-PSK" in maker
    assert "WPA/WPA2-PSK" in lines[3]
    assert "yes" in lines[4]
    assert "open" in lines[5]
    assert "WPA2/WPA3-PSK" in lines[6] and "▂   " in lines[6]
    assert "5 network(s) found." in text


def test_connect_with_prompt_shows_ip_config_and_persistence(
    wifi_kernel: tuple[KernelManager, BlockingKernelClient, Path], wk: BlockingKernelClient
) -> None:
    r = prompted(wk, "%wifi connect MakerSpace", MAKERSPACE_PW)
    assert r.status == "ok", r.text + error_text(r)
    assert "Connected to MakerSpace." in r.stdout
    assert "address 192.168.1.42" in r.stdout and "netmask 255.255.255.0" in r.stdout
    assert "gateway 192.168.1.1" in r.stdout and "DNS     192.168.1.1" in r.stdout
    assert "reconnects to it at every boot" in r.stdout and "%wifi forget" in r.stdout
    assert "Connecting to MakerSpace" in r.shown  # the progress display
    assert MAKERSPACE_PW not in json.dumps([m["content"] for m in r.messages])

    st = run(wk, "%wifi status")
    assert "connected (to MakerSpace)" in st.stdout
    assert "RSSI    -48 dBm" in st.stdout and "address 192.168.1.42" in st.stdout
    assert "Access point (AP_IF): off" in st.stdout

    # Like an ESP8266, the board reconnects at boot; forget stops that.
    assert run(wk, "%reset").status == "ok"
    time.sleep(1)
    assert "connected (to MakerSpace)" in run(wk, "%wifi status").stdout
    f = run(wk, "%wifi forget")
    assert "cleared the saved network" in f.stdout
    assert run(wk, "%reset").status == "ok"
    time.sleep(1)
    assert "Station (STA_IF): off" in run(wk, "%wifi status").stdout


def test_disconnect(wk: BlockingKernelClient) -> None:
    assert run(wk, "%wifi connect LabNet --password-from-env LABNET_PW").status == "ok"
    r = run(wk, "%wifi disconnect")
    assert r.status == "ok" and "Disconnected" in r.stdout
    st = run(wk, "%wifi status").stdout
    assert "not connected" in st and "address 0.0.0.0" in st


def test_wrong_password(wk: BlockingKernelClient) -> None:
    r = prompted(wk, "%wifi connect MakerSpace", "not-the-password")
    assert r.status == "error"
    assert error_text(r) == "Wrong password for MakerSpace."
    assert "not-the-password" not in json.dumps([m["content"] for m in r.messages])
    assert "not connected" in run(wk, "%wifi status").stdout


def test_no_access_point_found(wk: BlockingKernelClient) -> None:
    r = prompted(wk, "%wifi connect Nowhere", "whatever1")
    assert r.status == "error"
    assert error_text(r) == "No access point named Nowhere found."


def test_timeout_and_bad_usage(wk: BlockingKernelClient) -> None:
    r = run(wk, "%wifi connect")
    assert r.status == "error" and "Usage: %wifi connect SSID" in error_text(r)
    r = run(wk, "%wifi connect MakerSpace --password-from-env NOT_SET_ANYWHERE")
    assert r.status == "error" and "NOT_SET_ANYWHERE is not set" in error_text(r)
    r = run(wk, "%wifi ap sideways")
    assert r.status == "error" and "on|off" in error_text(r)


def test_password_from_env(wk: BlockingKernelClient) -> None:
    r = run(wk, "%wifi connect LabNet --password-from-env LABNET_PW --timeout 5")
    assert r.status == "ok", error_text(r)
    assert "Connected to LabNet." in r.stdout
    assert LABNET_PW not in json.dumps([m["content"] for m in r.messages])


def test_access_point_on_off(wk: BlockingKernelClient) -> None:
    r = prompted(wk, "%wifi ap on --essid BoardAP", AP_PW)
    assert r.status == "ok", error_text(r)
    assert "Access point on." in r.stdout and "ESSID   BoardAP" in r.stdout
    assert "security WPA2-PSK" in r.stdout and "address 192.168.4.1" in r.stdout
    assert AP_PW not in json.dumps([m["content"] for m in r.messages])
    assert "Access point (AP_IF): on" in run(wk, "%wifi status").stdout
    short = prompted(wk, "%wifi ap on", "short")
    assert short.status == "error" and "at least 8 characters" in error_text(short)
    op = run(wk, "%wifi ap on --open")
    assert op.status == "ok" and "security open" in op.stdout
    off = run(wk, "%wifi ap off")
    assert off.status == "ok" and "Access point off." in off.stdout
    assert "Access point (AP_IF): off" in run(wk, "%wifi status").stdout


def test_password_hint_once(wk: BlockingKernelClient) -> None:
    code = "import network\nw = network.WLAN(network.STA_IF)\nw.active(True)\n"
    first = run(wk, code + "w.connect('CoffeeShop', '')")
    assert first.status == "ok"
    assert "%wifi connect SSID" in first.stderr
    again = run(wk, code + "w.connect('CoffeeShop', '')")
    assert "%wifi connect" not in again.stderr
    plain = run(wk, "print('connect(1, 2)')")
    assert "%wifi" not in plain.stderr


def test_hint_detects_passwords_written_in_code() -> None:
    cases = {
        "sta.connect('Home', 'secret')": True,
        'sta.connect("Home", key="secret")': True,
        "w.connect(b'Home',b'secret')": True,
        "sta.connect(ssid, password)": False,
        "sock.connect(('example.com', 80))": False,
        "print('connect(1, 2)')": False,
    }
    for code, expected in cases.items():
        assert wifi.password_in_code(code) is expected, code


def test_unknown_status_codes_time_out_clearly(wk: BlockingKernelClient) -> None:
    patch = (
        "import network\n"
        "_real = (network.WLAN.status, network.WLAN.isconnected)\n"
        "network.WLAN.status = lambda self, *a: 1010\n"
        "network.WLAN.isconnected = lambda self: False\n"
    )
    assert run(wk, patch).status == "ok"
    try:
        r = run(wk, "%wifi connect LabNet --password-from-env LABNET_PW --timeout 1")
        assert r.status == "error"
        assert error_text(r) == (
            "Not connected to LabNet after 1 s "
            "(status code 1010, which mpkernel does not know for this board)."
        )
    finally:
        run(wk, "network.WLAN.status, network.WLAN.isconnected = _real")


def test_degrades_without_ifconfig_and_status_codes(wk: BlockingKernelClient) -> None:
    patch = (
        "import network\n"
        "_real = (network.WLAN.ifconfig, network.WLAN.status)\n"
        "def _noif(self, *a):\n    raise AttributeError('ifconfig')\n"
        "def _nostat(self, *a):\n    raise OSError(95)\n"
        "network.WLAN.ifconfig = _noif\nnetwork.WLAN.status = _nostat\n"
    )
    assert run(wk, patch).status == "ok"
    try:
        r = run(wk, "%wifi connect LabNet --password-from-env LABNET_PW")
        assert r.status == "ok", error_text(r)
        assert "address 192.168.1.42" in r.stdout and "netmask 255.255.255.0" in r.stdout
        bad = prompted(wk, "%wifi connect LabNet --timeout 1.5", "wrong-pass")
        assert bad.status == "error"
        assert "does not say why" in error_text(bad)
    finally:
        run(wk, "network.WLAN.ifconfig, network.WLAN.status = _real")


def test_board_without_network_module(fresh_kernel: tuple[KernelManager, Any]) -> None:
    _, kc = fresh_kernel
    assert run(kc, "%connect virtual").status == "ok"
    assert run(kc, "import sys; sys.modules['network'] = None").status == "ok"
    for line in ("%wifi scan", "%wifi status", "%wifi connect X", "%wifi ap on", "%wifi"):
        r = run(kc, line)
        assert r.status == "error"
        assert "this board has no WiFi (no network module)" in (r.error or {}).get("evalue", "")


HOST_PANEL = """%%host
import os
from mpkernel.widgets.wifi import WifiPanel
p = WifiPanel(get_ipython().kernel, timeout=5)
p.rescan()
print([v for _, v in p.networks.options])
print(p.status.value)
print("PRESELECTED", p.networks.value)
p.networks.value = "MakerSpace"
p.password.value = os.environ["{var}"]
p.connect_clicked(None)
print(p.status.value)
print(repr(p.password.value))
"""


def test_widget_panel(wk: BlockingKernelClient) -> None:
    r = run(wk, "%wifi")
    assert r.status == "ok", error_text(r)
    views = [c for c in r.of("display_data") if WIDGET_VIEW in c["data"]]
    assert views, r.messages

    ok = run(wk, HOST_PANEL.format(var="MAKER_PW"))
    assert ok.status == "ok", ok.text
    lines = ok.stdout.splitlines()
    assert lines[0] == "['MakerSpace', 'LabNet', 'CoffeeShop', 'Neighbour-5G']"
    assert lines[1] == "4 network(s) found (+1 hidden: use %wifi connect SSID)."
    assert lines[2] == "PRESELECTED MakerSpace"  # the strongest signal
    assert lines[3].startswith("Connected to MakerSpace. IP address 192.168.1.42.")
    assert lines[4] == "''"
    assert MAKERSPACE_PW not in json.dumps([m["content"] for m in ok.messages])

    bad = run(wk, HOST_PANEL.format(var="LABNET_PW"))  # LabNet's password for MakerSpace
    lines = bad.stdout.splitlines()
    assert lines[3] == "Failed: wrong password for MakerSpace.", bad.text
    assert lines[4] == "''"
    assert LABNET_PW not in json.dumps([m["content"] for m in bad.messages])


# -- the password never ends up anywhere -----------------------------------------------------


def comm_send(kc: BlockingKernelClient, comm_id: str, data: dict[str, Any]) -> list[dict]:
    """Send a widget message as a frontend does; the iopub messages it caused."""
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kc.shell_channel.send(msg)
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        m = kc.get_iopub_msg(timeout=40)
        if m["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        seen.append(m)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return seen
    raise AssertionError("the kernel did not finish the widget message")


def test_password_in_no_output_log_history_or_notebook(tmp_path: Path) -> None:
    log = (tmp_path / "kernel.log").open("w")
    env = {**os.environ, "LABNET_PW": LABNET_PW}
    km, kc = start_new_kernel(kernel_name="micropython", env=env, stdout=log, stderr=log)
    secrets = (MAKERSPACE_PW, LABNET_PW, AP_PW)
    nb = nbformat.v4.new_notebook()
    iopub: list[dict[str, Any]] = []

    def cell(code: str, r: Run) -> None:
        iopub.extend(r.messages)
        nb.cells.append(as_cell(code, r))

    try:
        code = "%connect virtual"
        cell(code, run(kc, code))
        code = "%wifi connect MakerSpace"
        r = prompted(kc, code, MAKERSPACE_PW)
        assert r.status == "ok", error_text(r)
        cell(code, r)
        code = "%wifi connect LabNet --password-from-env LABNET_PW"
        r = run(kc, code)
        assert r.status == "ok", error_text(r)
        cell(code, r)
        code = "%wifi ap on --essid BoardAP"
        r = prompted(kc, code, AP_PW)
        assert r.status == "ok", error_text(r)
        cell(code, r)
        code = "%wifi connect MakerSpace"
        r = prompted(kc, code, "wrong-" + MAKERSPACE_PW)
        assert r.status == "error"
        cell(code, r)

        # The widget, driven by comm messages exactly as JupyterLab sends them.
        code = (
            "%%host\nfrom mpkernel.widgets.wifi import WifiPanel\n"
            "panel = WifiPanel(get_ipython().kernel, timeout=5)\npanel.rescan()\n"
            "panel.networks.value = 'MakerSpace'\n"
            "print(panel.password.model_id, panel.connect_button.model_id)"
        )
        r = run(kc, code)
        cell(code, r)
        pw_id, button_id = r.stdout.split()
        state = {"value": MAKERSPACE_PW}
        iopub.extend(comm_send(kc, pw_id, {"method": "update", "state": state, "buffer_paths": []}))
        iopub.extend(comm_send(kc, button_id, {"method": "custom", "content": {"event": "click"}}))
        code = "%%host\nprint(panel.status.value)\nprint(repr(panel.password.value))"
        r = run(kc, code)
        cell(code, r)
        assert r.stdout.startswith("Connected to MakerSpace."), r.stdout
        assert r.stdout.splitlines()[1] == "''"

        r = run(
            kc,
            "%%host\nimport json\nfrom ipywidgets import Widget\n"
            "print(json.dumps(Widget.get_manager_state()))",
        )
        widget_state = json.loads(r.stdout)
        assert widget_state["state"][pw_id]["state"]["value"] == ""
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": widget_state}
        code = (
            "%%host\nh = get_ipython().history_manager\n"
            "print(json.dumps([list(x) for x in h.get_range(raw=True, output=True)]))\n"
            "print(json.dumps(In))"
        )
        r = run(kc, code)
        assert r.status == "ok", r.text
        history = r.stdout
        assert "%wifi connect LabNet" in history
        iopub.extend(r.messages)
        r = run(kc, "%%host\nprint(get_ipython().history_manager.hist_file)")
        hist_file = Path(r.stdout.strip())
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        log.close()

    path = tmp_path / "wifi.ipynb"
    nbformat.write(nb, str(path))
    saved = path.read_text()
    assert "Connected to MakerSpace." in saved and "BoardAP" in saved
    everything = {
        "notebook": saved,
        "iopub": json.dumps([{"c": m["content"], "m": m.get("metadata")} for m in iopub]),
        "kernel log": (tmp_path / "kernel.log").read_text(errors="replace"),
        "history": history,
        "history file": hist_file.read_bytes().decode("latin-1") if hist_file.exists() else "",
    }
    for where, text in everything.items():
        for secret in secrets:
            assert secret not in text, f"a password leaked into the {where}"
