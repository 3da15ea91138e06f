"""Host and board in one notebook: %host, %pull, %push, %capture and %%plot."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import run

from mpkernel.services.transfer import (
    TransferError,
    check_pushable,
    literal,
    parse_pulled,
    pull_code,
)
from mpkernel.widgets.plot import parse_line

VALUES = {
    "v_int": "-42",
    "v_float": "1.5",
    "v_float2": "0.1",
    "v_big": "2**200 + 7",
    "v_huge": "-(10**5000)",
    "v_str": "'h\\u00e9llo \"dq\" \\'sq\\'\\nline2\\t\\u2028 \\U0001F600 \\\\'",
    "v_bytes": "bytes(range(256))",
    "v_list": "[1, 2.5, 'a', None, b'x']",
    "v_tuple": "(1, ('a', (2.0,)), ())",
    "v_dict": "{'a': 1, 2: 'b', (1, 2): [3, {'x': b'y'}]}",
    "v_nested": "[[i, str(i), {'k': (i, [i])}] for i in range(50)]",
    "v_none": "None",
    "v_true": "True",
    "v_empty": "[[], (), {}, '', b'']",
    "v_bytearray": "bytearray(b'ab\\x00')",
    "v_set": "{1, 'two', (3,)}",
}


def host_check(kc, expr: str) -> str:
    out = run(kc, f"%%host\nprint({expr})")
    assert out.status == "ok", out.text
    return out.stdout.strip()


# -- %host ------------------------------------------------------------------------------


def test_host_line_magic(kc):
    out = run(kc, '%host hx = "a b"; print(hx.upper())')
    assert out.status == "ok", out.text
    assert out.stdout == "A B\n"
    out = run(kc, "%host 6 * 7")
    assert out.result == "42"
    assert host_check(kc, "hx") == "a b"


def test_host_line_then_board_code(kc):
    out = run(kc, "%host hy = 5\nprint('board', 1 + 1)")
    assert out.status == "ok", out.text
    assert out.stdout == "board 2\n"
    assert host_check(kc, "hy") == "5"


def test_host_error_fails_the_cell(kc):
    out = run(kc, "%host 1/0")
    assert out.status == "error"
    assert "ZeroDivisionError" in str(out.messages)


# -- %push / %pull ------------------------------------------------------------------------------


def test_push_then_pull_every_type(kc):
    setup = "\n".join(f"{k} = {v}" for k, v in VALUES.items())
    assert run(kc, "%%host\n" + setup + "\nsaved = dict(" + ",".join(
        f"{k}={k}" for k in VALUES
    ) + ")").status == "ok"  # fmt: skip
    out = run(kc, "%push " + " ".join(VALUES))
    assert out.status == "ok", out.text
    # The board sees the values...
    out = run(
        kc, "print(v_str == 'h\\u00e9llo \"dq\" \\'sq\\'\\nline2\\t\\u2028 \\U0001F600 \\\\')"
    )
    assert out.stdout == "True\n"
    assert run(kc, "print(len(v_bytes), v_bytes[255], v_big % 1000)").stdout == "256 255 383\n"
    # ...and bring them back unchanged.
    assert run(kc, "%%host\n" + "\n".join(f"del {k}" for k in VALUES)).status == "ok"
    out = run(kc, "%pull " + " ".join(VALUES))
    assert out.status == "ok", out.text
    same = " and ".join(
        f"(type({k}) is type(saved[{k!r}]) and {k} == saved[{k!r}])" for k in VALUES
    )
    assert host_check(kc, same) == "True"


def test_pull_board_values(kc):
    code = (
        "b_int = 7\nb_float = -2.25\nb_big = 3**300\nb_str = 'x\\'\"\\n\\u00fc\\u20ac'\n"
        "b_bytes = bytes(range(256))\nb_list = [1, [2, [3, 'x']]]\nb_tuple = (1,)\n"
        "b_dict = {'a': (1, 2), 3: None, 'b': {'c': b'd'}}\nb_none = None\nb_true = True\n"
        "b_inf = [float('inf'), -1.0]"
    )
    assert run(kc, code).status == "ok"
    names = "b_int b_float b_big b_str b_bytes b_list b_tuple b_dict b_none b_true b_inf"
    out = run(kc, "%pull " + names)
    assert out.status == "ok", out.text
    expected = (
        "(b_int, b_float, b_big, b_str, b_bytes, b_list, b_tuple, b_dict, b_none, b_true, b_inf)"
        " == (7, -2.25, 3**300, 'x\\'\"\\n\\u00fc\\u20ac', bytes(range(256)), [1, [2, [3, 'x']]],"
        " (1,), {'a': (1, 2), 3: None, 'b': {'c': b'd'}}, None, True, [float('inf'), -1.0])"
    )
    assert host_check(kc, expected) == "True"


def test_as_renames(kc):
    assert run(kc, "board_only = [1, 2, 3]").status == "ok"
    out = run(kc, "%pull board_only --as on_host")
    assert out.status == "ok", out.text
    assert host_check(kc, "on_host") == "[1, 2, 3]"
    assert run(kc, "%%host\nsrc = {'k': 'v'}").status == "ok"
    out = run(kc, "%push src --as dst_on_board")
    assert out.status == "ok", out.text
    assert run(kc, "print(dst_on_board)").stdout == "{'k': 'v'}\n"
    out = run(kc, "%pull board_only v_int --as x")
    assert out.status == "error"
    assert "single NAME" in out.error["evalue"]


def test_big_list_round_trip(kc):
    setup = "%%host\nbig = [i * 7 for i in range(15000)] + ['s%d' % i for i in range(1000)]\n"
    setup += "big_text = repr(big)\nprint(len(big_text) > 100_000)"
    out = run(kc, setup)
    assert out.stdout == "True\n"
    out = run(kc, "%push big", timeout=120)
    assert out.status == "ok", out.text
    assert "push big" in out.shown  # a progress display for a big transfer
    assert run(kc, "print(len(big), big[-1], sum(big[:15000]))").stdout == (
        f"16000 s999 {sum(i * 7 for i in range(15000))}\n"
    )
    out = run(kc, "%pull big --as big_back", timeout=120)
    assert out.status == "ok", out.text
    assert host_check(kc, "big_back == big") == "True"


def test_big_bytes_round_trip(kc):
    # 300 KB of bytes travel as ~1.1 MB of escaped text, yet fit the board's ~2 MB heap.
    assert run(kc, "%%host\nblob2 = bytes(range(256)) * 1200").status == "ok"
    out = run(kc, "%push blob2", timeout=120)
    assert out.status == "ok", out.text
    assert run(kc, "print(len(blob2), blob2[-1])").stdout == "307200 255\n"
    out = run(kc, "%pull blob2 --as blob2_back", timeout=120)
    assert out.status == "ok", out.text
    assert host_check(kc, "blob2_back == blob2") == "True"


def test_big_values_made_on_the_board(kc):
    code = (
        "made = [i for i in range(25000)]\nblob = bytes(range(256)) * 600\ntext = 'ab\\n' * 40000"
    )
    assert run(kc, code).status == "ok"
    out = run(kc, "%pull made blob text", timeout=120)
    assert out.status == "ok", out.text
    check = (
        "made == list(range(25000)) and blob == bytes(range(256)) * 600 and text == 'ab\\n' * 40000"
    )
    assert host_check(kc, check) == "True"


def test_pull_missing_name(kc):
    out = run(kc, "%pull no_such_thing_here")
    assert out.status == "error"
    assert out.error["evalue"] == "no_such_thing_here is not defined on the board."


def test_pull_non_literal(kc):
    assert run(kc, "def board_fn():\n    pass\nholder = {'f': board_fn}").status == "ok"
    out = run(kc, "%pull board_fn")
    assert out.status == "error"
    assert "board_fn is a function on the board" in out.error["evalue"]
    out = run(kc, "%pull holder")
    assert out.status == "error"
    assert "holder contains a function" in out.error["evalue"]


def test_push_refuses_numpy(kc):
    pytest.importorskip("numpy")
    assert run(kc, "%%host\nimport numpy as np\narr = np.arange(5)").status == "ok"
    out = run(kc, "%push arr")
    assert out.status == "error"
    assert "numpy.ndarray" in out.error["evalue"]
    assert "convert to a list or bytes first (e.g. arr.tolist())" in out.error["evalue"]
    assert run(kc, "%%host\narr2 = [1, np.arange(2)]").status == "ok"
    assert "arr2 contains a numpy.ndarray" in run(kc, "%push arr2").error["evalue"]


def test_push_refuses_other_objects_and_missing(kc):
    assert run(kc, "%%host\nclass Thing: pass\nthing = Thing()").status == "ok"
    out = run(kc, "%push thing")
    assert out.status == "error"
    assert "thing is a __main__.Thing" in out.error["evalue"]
    out = run(kc, "%push not_on_host_anywhere")
    assert out.status == "error"
    assert "not_on_host_anywhere is not defined on the host" in out.error["evalue"]


def test_push_refuses_too_big(kc):
    assert run(kc, "%%host\nhuge_blob = bytes(8 * 1024 * 1024)").status == "ok"
    out = run(kc, "%push huge_blob", timeout=120)
    assert out.status == "error"
    assert "huge_blob is too big for the board" in out.error["evalue"]
    assert "free (gc.mem_free())" in out.error["evalue"]
    # The board still works and did not get the name.
    assert run(kc, "huge_blob").error["ename"] == "NameError"
    assert run(kc, "print(1 + 1)").stdout == "2\n"


def test_bad_names(kc):
    out = run(kc, "%pull 'a+b'")
    assert out.status == "error"
    assert "not a variable name" in out.error["evalue"]


# -- %capture ---------------------------------------------------------------------------


def test_capture(kc):
    out = run(kc, "%capture cap\nfor i in range(3):\n    print('line', i)")
    assert out.status == "ok", out.text
    assert out.stdout == "line 0\nline 1\nline 2\n"  # still shown
    assert host_check(kc, "repr(cap)") == repr("line 0\nline 1\nline 2\n")
    out = run(kc, "%capture cap2\nprint('before')\n1/0")
    assert out.status == "error"
    assert host_check(kc, "repr(cap2)") == repr("before\n")


# -- %%plot -------------------------------------------------------------------------------


def test_parse_line():
    assert parse_line("1 4") == {"y0": 1, "y1": 4}
    assert parse_line("1.5, -2e3") == {"y0": 1.5, "y1": -2000.0}
    assert parse_line("t=1.5 v=3.2") == {"t": 1.5, "v": 3.2}
    assert parse_line("t=1.5, v=3.2") == {"t": 1.5, "v": 3.2}
    assert parse_line("hello 1") is None
    assert parse_line("2024-01-05") is None
    assert parse_line("") is None


def test_plot_columns(kc):
    out = run(kc, "%%plot\nprint('start')\nfor i in range(20):\n    print(i, i*i)\nprint('done')")
    assert out.status == "ok", out.text
    assert out.stdout == "start\ndone\n"  # numbers are plotted, other lines shown
    pngs = [m for m in out.of("display_data") if "image/png" in m["data"]]
    assert pngs, out.messages
    check = "list(_plot['y0']) == list(range(20)) and list(_plot['y1']) == [i*i for i in range(20)]"
    assert host_check(kc, check) == "True"
    assert host_check(kc, "type(_plot).__name__, len(_plot)") == "DataFrame 20"


def test_plot_named_series_window_and_time(kc):
    body = "for i in range(30):\n    print('t=%d, v=%s' % (i, i / 2))"
    out = run(kc, "%%plot --window 10 --x time\n" + body)
    assert out.status == "ok", out.text
    assert out.stdout == ""
    assert any("image/png" in m["data"] for m in out.of("display_data"))
    check = "list(_plot['t']) == list(range(30)) and list(_plot['v']) == [i / 2 for i in range(30)]"
    assert host_check(kc, check) == "True"
    assert host_check(kc, "list(_plot['time']) == sorted(_plot['time'])") == "True"


def test_plot_board_error_keeps_data(kc):
    out = run(kc, "%%plot\nfor i in range(5):\n    print(i)\n1/0")
    assert out.status == "error" and out.error["ename"] == "ZeroDivisionError"
    assert host_check(kc, "list(_plot['y0'])") == "[0, 1, 2, 3, 4]"


@pytest.mark.timing
def test_plot_interrupted_keeps_data(fresh_kernel):
    km, kc = fresh_kernel
    assert run(kc, "%connect virtual").status == "ok"
    assert run(kc, "%%plot\nprint(1)").status == "ok"  # matplotlib imported, as in real use
    timer = threading.Timer(1.5, km.interrupt_kernel)
    timer.start()
    start = time.monotonic()
    try:
        out = run(
            kc, "%%plot\nimport time\nfor i in range(1000):\n    print(i)\n    time.sleep(0.05)"
        )
    finally:
        timer.cancel()
    assert time.monotonic() - start < 20
    assert out.status == "error" and out.error["ename"] == "KeyboardInterrupt"
    n = int(host_check(kc, "len(_plot)"))
    assert 0 < n < 1000
    assert host_check(kc, "list(_plot['y0']) == list(range(len(_plot)))") == "True"
    assert any("image/png" in m["data"] for m in out.of("display_data"))


# -- helpers, without a board -------------------------------------------------------------


def test_literal_and_check():
    assert literal((1,)) == "(1,)"
    assert literal({1, 2}) in ("set([1,2])", "set([2,1])")
    assert literal(float("-inf")) == "float('-inf')"
    with pytest.raises(TransferError, match="convert to a list or bytes first"):
        check_pushable(object(), "o")
    assert "try:" in pull_code("x")
    assert parse_pulled("[\nx[1, 2]\n=3\n]\n", "x") == [1, 2, 3]


def test_plot_updates_live_at_most_5_per_second(kc):
    body = "import time\nfor i in range(40):\n    print(i)\n    time.sleep(0.04)"
    out = run(kc, "%%plot\n" + body)
    assert out.status == "ok", out.text
    frames = [
        t
        for m, t in zip(out.messages, out.times, strict=True)
        if m["msg_type"] in ("display_data", "update_display_data")
    ]
    assert len(frames) >= 3  # live frames while the cell runs, then the final one
    span = frames[-1] - frames[0]
    assert len(frames) <= span * 5 + 3
    assert host_check(kc, "len(_plot)") == "40"
