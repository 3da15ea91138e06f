"""A class on one hub: memory and CPU per student, and a 1 MB flash through the page.

    sh install/jupyterhub.sh
    .venv/bin/python bench/bench_hub.py --students 30      # the class, boards on the laptops
    .venv/bin/python bench/bench_hub.py --students 30 --virtual   # homework: virtual boards
    .venv/bin/python bench/bench_hub.py --flash            # the flash through the page

The class: a real JupyterHub (tests/hub.py) spawns N students' servers; each starts a
MicroPython kernel through its own server's REST API (as JupyterLab does). Each student's
board is on their laptop: a virtual board of this process behind the Python test page
(tests/browser_page.py, paced at 115200 baud like a UART), which reaches the kernel through
the student's own server (the browser link), as the JupyterLab page does. All run the
tutorial's first cells at once (the bare %connect takes the page's board, a value, the
Python version, %wifi scan, the board's id). Per student it reports the memory (PSS, so
shared library pages are split fairly) and CPU seconds of the single-user server (with its
link relay) and the kernel: the hub's share (the boards and pages are the laptops'), and
how much a server grew with its page's link. `--virtual`: each kernel runs its own virtual
board and simulated bootloader under the student's server instead (%chipinfo too).

The flash: `%flash` of a 1 MB image (random payload: no help from compression) from a
kernel through the page (tests/browser_page.py, paced at the baud rate like a UART) at 0
and 10 ms one-way delay, against the same flash from the kernel's own port (the simulator's
PTY throttled by bench/throttle.py to the baud rate esptool sets). Target: within 1.2x.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

from jupyter_client.blocking.client import BlockingKernelClient  # noqa: E402

CELLS = ["%connect", "%chipinfo", "1 + 2", "import sys\nprint(sys.implementation.name)",
         "%wifi scan"]  # fmt: skip
ID_CELL = "import machine\nprint(machine.unique_id())"
#: On the page: the tutorial's bare %connect takes the page's board; no %chipinfo (behind the
#: page is MicroPython's unix port, no ESP bootloader).
PAGE_CELLS = ["%connect", "1 + 2", "import sys\nprint(sys.implementation.name)", "%wifi scan",
              ID_CELL]  # fmt: skip
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children(p)
    return found


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except OSError:
        return 0.0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def role(pid: int) -> str:
    line = cmdline(pid)
    if "jupyterhub-singleuser" in line:
        return "server"
    if "-m mpkernel -f" in line:
        return "kernel"
    return "board"


def per_role(server_pid: int) -> dict[str, tuple[int, float]]:
    """(PSS kB, CPU s) of a student's server, kernel and board processes."""
    out: dict[str, tuple[int, float]] = {}
    for pid in tree(server_pid):
        kb, cpu = out.get(role(pid), (0, 0.0))
        out[role(pid)] = (kb + pss_kb(pid), cpu + cpu_s(pid))
    return out


def server_pid(home: Path) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and "jupyterhub-singleuser" in cmdline(int(entry.name)):
            try:
                if os.readlink(entry / "cwd") == str(home):
                    return int(entry.name)
            except OSError:
                pass
    raise RuntimeError(f"no server running in {home}")


def summary(values: list[float], unit: str) -> str:
    return (f"min {min(values):7.1f}  median {statistics.median(values):7.1f}  "
            f"max {max(values):7.1f} {unit}")  # fmt: skip


def kernel_client(home: Path, kernel_id: str, timeout: float = 120) -> BlockingKernelClient:
    path = home / ".local" / "share" / "jupyter" / "runtime" / f"kernel-{kernel_id}.json"
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise RuntimeError(f"no connection file {path}")
        time.sleep(0.2)
    kc = BlockingKernelClient(connection_file=str(path))
    kc.load_connection_file()
    kc.start_channels()
    asked: set[str] = set()
    while True:  # it answers kernel_info (any of ours: a slow kernel answers late)
        asked.add(kc.kernel_info())
        try:
            if kc.get_shell_msg(timeout=2)["parent_header"].get("msg_id") in asked:
                return kc
        except queue.Empty:
            if time.monotonic() > end:
                raise RuntimeError(f"kernel {kernel_id} did not answer") from None


def bench_class(students: int, on_page: bool = True) -> None:
    """N students' servers and kernels on one hub, the tutorial's first cells at once.

    `on_page` (the class): each kernel reaches a board on the student's laptop through the
    Python test page (tests/browser_page.py) and the student's own server: the boards (virtual
    boards of this process) and the pages are the laptops' cost, not the hub's. Else each
    kernel runs its own virtual board (and simulated bootloader) under the student's server:
    homework without boards."""
    import json

    from browser_page import BrowserPage
    from conftest import run
    from hub import running_hub

    from mpkernel.board.virtual.board import VirtualBoard

    cells = PAGE_CELLS if on_page else CELLS
    names = [f"s{i:02d}" for i in range(1, students + 1)]
    folder = Path(tempfile.mkdtemp(prefix="mpk-hub-"))
    boards: dict[str, VirtualBoard] = {}
    pages: dict[str, BrowserPage] = {}
    (folder / "hub").mkdir()
    with running_hub(folder / "hub") as hub:
        free_before = available_kb()
        start = time.monotonic()
        for name in names:
            hub.ensure_user(name)
            hub.api("POST", f"/users/{name}/server")
        while not all(hub.server_ready(n) for n in names):
            if time.monotonic() - start > 900:
                raise RuntimeError("the servers did not start in 15 min")
            time.sleep(1)
        print(f"{students} servers ready in {time.monotonic() - start:.0f} s")
        clients, tokens, kernels = {}, {}, {}
        for name in names:
            tokens[name] = hub.user_token(name)
            status, body = hub.request(
                "POST", f"{hub.url}/user/{name}/api/kernels", {"name": "micropython"},
                tokens[name],
            )  # fmt: skip
            assert status == 201, (status, body)
            kernels[name] = json.loads(body)["id"]
            clients[name] = kernel_client(hub.home(name), kernels[name])
        server_kb = {n: pss_kb(server_pid(hub.home(n))) for n in names}
        try:
            if on_page:
                for name in names:
                    root = folder / "laptops" / name
                    root.mkdir(parents=True)
                    boards[name] = board = VirtualBoard(root=root)
                    pages[name] = BrowserPage(
                        f"{hub.url}/user/{name}/", kernels[name], board.port, tokens[name],
                        on_reset=board.press_reset,
                    ).start()  # fmt: skip
            errors: list[str] = []
            ids: dict[str, str] = {}

            def tutorial(name: str) -> None:
                for cell in cells:
                    r = run(clients[name], cell, timeout=600)
                    if r.status != "ok":
                        errors.append(f"{name}: {cell}: {r.text[-200:]}")
                    elif cell == ID_CELL:
                        ids[name] = r.text.strip()
                    elif cell == "%connect" and on_page and "Web Serial" not in r.text:
                        errors.append(f"{name}: %connect did not take the page's board")

            start = time.monotonic()
            threads = [threading.Thread(target=tutorial, args=(n,)) for n in names]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print(f"tutorial cells, all students at once: {time.monotonic() - start:.0f} s"
                  + (f", {len(errors)} errors: {errors[:3]}" if errors else ""))  # fmt: skip
            if on_page and len(set(ids.values())) != len(names):
                print(f"WARNING: boards' ids not all different: {ids}")
            roles = [per_role(server_pid(hub.home(n))) for n in names]
            for what in ("server", "kernel", "board"):
                mem = [r.get(what, (0, 0.0))[0] / 1024 for r in roles]
                cpu = [r.get(what, (0, 0.0))[1] for r in roles]
                if any(mem):
                    print(f"{what:7} memory {summary(mem, 'MB')}   CPU {summary(cpu, 's')}")
            total = [sum(v[0] for v in r.values()) / 1024 for r in roles]
            print(f"student memory on the hub {summary(total, 'MB')}; the machine lost "
                  f"{(free_before - available_kb()) / 1024:.0f} MB for {students} students"
                  + (" (their boards and pages, the laptops' share, included)" if on_page
                     else ""))  # fmt: skip
            if on_page:
                grew = [(pss_kb(server_pid(hub.home(n))) - server_kb[n]) / 1024 for n in names]
                print(f"server's growth with its page's link and the cells {summary(grew, 'MB')}")
        finally:
            for page in pages.values():
                page.stop()
            for board in boards.values():
                board.stop()
            for kc in clients.values():
                kc.stop_channels()


def available_kb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


def bench_flash(runs: int) -> None:
    from browser_page import BrowserPage
    from conftest import run
    from notebook_server import jupyter_server
    from throttle import throttled

    from mpkernel.flash import mock
    from mpkernel.flash.image import esp8266_image

    with tempfile.TemporaryDirectory(prefix="mpk-flash-") as tmp, jupyter_server(Path(tmp)) as srv:
        (Path(tmp) / "fw.bin").write_bytes(esp8266_image(os.urandom(1 << 20)))
        proc, pty = mock.start(Path(tmp))
        kernel_id = str(srv.api("POST", "api/kernels", {"name": "micropython", "path": ""})["id"])
        kc = srv.client(kernel_id)
        times: dict[str, list[float]] = {}
        try:
            with throttled(pty, follow_baud=True) as local:  # the rates esptool sets
                for _ in range(runs):
                    start = time.monotonic()
                    r = run(kc, f"%flash fw.bin --port {local} --no-wait", timeout=900)
                    assert "verified" in r.shown, (r.shown, r.error)
                    times.setdefault("kernel's own port", []).append(time.monotonic() - start)
            for delay in (0.0, 0.010):
                page = BrowserPage(srv.url, kernel_id, pty, srv.token, delay=delay).start()
                try:
                    for _ in range(runs):
                        start = time.monotonic()
                        r = run(kc, "%flash fw.bin --port browser --no-wait", timeout=900)
                        assert "verified" in r.shown, (r.shown, r.error)
                        key = f"page, {delay * 1000:.0f} ms one way"
                        times.setdefault(key, []).append(time.monotonic() - start)
                finally:
                    page.stop()
        finally:
            kc.stop_channels()
            proc.kill()
        base = statistics.median(times["kernel's own port"])
        for key, values in times.items():
            ratio = statistics.median(values) / base
            print(f"1 MB flash, {key:22} {summary(values, 's')}  {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=0)
    parser.add_argument(
        "--virtual", action="store_true",
        help="each kernel on its own virtual board on the hub (no pages, no laptops' boards)",
    )  # fmt: skip
    parser.add_argument("--flash", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not args.students and not args.flash:
        args.students, args.flash = 30, True
    if args.flash:
        bench_flash(args.runs)
    if args.students:
        bench_class(args.students, on_page=not args.virtual)


if __name__ == "__main__":
    main()
