"""%ports --json: the serial ports as data a script can read from the notebook's output."""

from __future__ import annotations

import json

from conftest import run
from jupyter_client.blocking.client import BlockingKernelClient

from mpkernel.board.links.ports import Port, list_serial_ports


def test_ports_json_lists_what_the_system_reports(kc: BlockingKernelClient) -> None:
    r = run(kc, "%ports --json")
    assert r.status == "ok", r.text
    [shown] = r.of("display_data")
    data = shown["data"]["application/json"]
    assert json.loads(shown["data"]["text/plain"]) == data
    assert [p["device"] for p in data] == [p.device for p in list_serial_ports()]
    assert all(set(p) == {"device", "vid", "pid", "usb_id", "description", "board"} for p in data)


def test_port_as_dict_names_known_boards() -> None:
    cp2102 = Port("/dev/ttyUSB0", 0x10C4, 0xEA60, "CP2102 USB to UART Bridge Controller")
    assert cp2102.as_dict() == {
        "device": "/dev/ttyUSB0",
        "vid": 0x10C4,
        "pid": 0xEA60,
        "usb_id": "10C4:EA60",
        "description": "CP2102 USB to UART Bridge Controller",
        "board": "CP210x USB-serial",
    }
    plain = Port("/dev/ttyS0", None, None, "n/a").as_dict()
    assert plain["usb_id"] is None and plain["board"] is None
    assert json.loads(json.dumps(plain)) == plain


def test_ports_help_mentions_json(kc: BlockingKernelClient) -> None:
    r = run(kc, "%ports -h")
    assert "--json" in r.text
