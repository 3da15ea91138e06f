"""What the board prints between cells (a `_thread`, a timer) reaches the notebook under the
cell that ran last, as ipykernel shows a background thread's prints; the next cell still gets
the link cleanly."""

from __future__ import annotations

import queue
import time
from typing import Any

from conftest import run
from jupyter_client.blocking.client import BlockingKernelClient

TICKER = (
    "import _thread, time\n"
    "def ticker(n, pause, width=0):\n"
    "    for i in range({n}):\n"
    "        time.sleep(pause)\n"
    "        print('tick', i, 'x' * width)\n"
    "_thread.start_new_thread(ticker, ({n}, {pause}, {width}))\n"
)


def idle_streams(kc: BlockingKernelClient, until: Any, timeout: float = 30) -> list[dict]:
    """iopub stream messages that arrive while no cell runs, until `until(texts)` holds."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while not until("".join(m["content"]["text"] for m in got)):
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} messages: {got[-3:]}"
        try:
            msg = kc.get_iopub_msg(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if msg["msg_type"] == "stream":
            got.append(msg)
    return got


def test_thread_ticks_after_the_cell_appear_in_that_cell(kc: BlockingKernelClient) -> None:
    reply = kc.execute_interactive(TICKER.format(n=4, pause=0.3, width=0), timeout=30)
    assert reply["content"]["status"] == "ok"
    got = idle_streams(kc, lambda text: "tick 3" in text)
    text = "".join(m["content"]["text"] for m in got)
    assert text == "tick 0 \ntick 1 \ntick 2 \ntick 3 \n"
    # Shown in the cell that ran last, as ipykernel shows a background thread's prints.
    assert {m["parent_header"]["msg_id"] for m in got} == {reply["parent_header"]["msg_id"]}
    assert all(m["content"]["name"] == "stdout" for m in got)
    assert run(kc, "print(2)").stdout == "2\n"


def run_seeing_all(kc: BlockingKernelClient, code: str) -> tuple[dict, str]:
    """Run a cell; return its reply and every stream text that arrived meanwhile, whichever
    cell it belongs to (execute_interactive would drop what belongs to the cell before)."""
    msg_id = kc.execute(code)
    text = ""
    while True:
        msg = kc.get_iopub_msg(timeout=30)
        if msg["msg_type"] == "stream":
            text += msg["content"]["text"]
        ours = msg["parent_header"].get("msg_id") == msg_id
        if ours and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return kc.get_shell_msg(timeout=30)["content"], text


def test_cells_run_cleanly_while_a_thread_prints(kc: BlockingKernelClient) -> None:
    r = run(kc, TICKER.format(n=40, pause=0.05, width=0))
    assert r.status == "ok"
    text = r.stdout  # a tick may come before the cell's reply
    for n in range(8):  # cells start while the thread prints and the reader reads
        reply, seen = run_seeing_all(kc, f"print({n} * 3)")
        assert reply["status"] == "ok", seen
        assert f"{n * 3}\n" in seen
        text += seen.replace(f"{n * 3}\n", "", 1)
    seen = idle_streams(kc, lambda idle: "tick 39" in text + idle)
    text += "".join(m["content"]["text"] for m in seen)
    assert text.splitlines() == [f"tick {i} " for i in range(40)]  # all, whole, in order
    assert run(kc, "print(2)").stdout == "2\n"


def test_at_most_1_mb_between_cells(kc: BlockingKernelClient) -> None:
    # 1.2 MB printed right after the cell returns: 1 MB is shown, the rest counted.
    n, width = 1200, 990
    total = sum(len(f"tick {i} ") + width + 1 for i in range(n))
    # The flood starts once the cell has ended: a cell that ends while a thread floods the
    # link is another matter (see the report: the raw REPL's end can be split by it).
    flood = TICKER.format(n=n, pause=0, width=width).replace(
        "    for i", "    time.sleep(0.5)\n    for i"
    )
    assert run(kc, flood).status == "ok"
    got = idle_streams(kc, lambda text: len(text) >= 1_000_000, timeout=120)
    assert sum(len(m["content"]["text"]) for m in got) == 1_000_000
    # %%host cells leave the board's link alone: the pause between board cells goes on.
    count = "%%host\nidle = get_ipython().kernel.connection.idle\nprint(idle.shown, idle.dropped)"
    deadline = time.monotonic() + 120
    while run(kc, count).stdout.split() != ["1000000", str(total - 1_000_000)]:
        assert time.monotonic() < deadline
    # The next board cell says how much was left out, and the link is in step.
    r = run(kc, "print(2)")
    assert r.stdout == "2\n"
    assert f"[mpkernel: {total - 1_000_000:,} more characters the board printed" in r.stderr


def test_listeners_get_idle_output(kc: BlockingKernelClient) -> None:
    """The hook the extension's Board console subscribes to: connection.idle.listeners."""
    hook = "%%host\nseen = []\nget_ipython().kernel.connection.idle.listeners.append(seen.append)"
    assert run(kc, hook).status == "ok"
    assert run(kc, TICKER.format(n=3, pause=0.2, width=0)).status == "ok"
    idle_streams(kc, lambda text: "tick 2" in text)
    r = run(kc, "%%host\nprint(repr(''.join(seen)))")
    assert r.stdout.strip() == repr("tick 0 \ntick 1 \ntick 2 \n")
