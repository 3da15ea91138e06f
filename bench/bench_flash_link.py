"""A 1 MB flash through the page (the browser link) against the kernel's own port (issue 31).

Run: `.venv/bin/python bench/bench_flash_link.py [--runs 3] [--size 1048576]`. One real
`jupyter server` with mpkernel's relay, one kernel started through its REST API, one
simulated ESP8266 bootloader (esp32-mock-bootloader's PTY). Each round runs `%flash` of the
same image (random payload: compression cannot help; the MD5 check on the chip and every
image check stay) three ways, side by side so the machine's load is shared:

- (a) the kernel's own port: the simulator's PTY behind bench/throttle.py at the baud rate
  esptool sets (115200 for the ROM, 460800 after the stub's baud change), 1 ms batches;
- (b) through the page (tests/browser_page.py: the page's side of the link, pacing the port
  at the baud rate next to the board) with 0 ms and (c) 10 ms one way between the page and
  the server.

Printed: seconds from the execute request to idle, min/median/max, and each median over
(a)'s; target <= 1.2x at 0 and 10 ms. For the page it also counts the kernel's frames per
flash by type (W: writes, S: DTR/RTS, B: baud changes): esptool waits for every command's
answer, so each W is at most one round trip.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE)]

from browser_page import BrowserPage  # noqa: E402
from conftest import run  # noqa: E402
from notebook_server import jupyter_server  # noqa: E402
from throttle import throttled  # noqa: E402

from mpkernel.flash import mock  # noqa: E402
from mpkernel.flash.image import esp8266_image  # noqa: E402

LOCAL = "(a) kernel's own port"
DELAYS = (0.0, 0.010)


def page_key(delay: float) -> str:
    return f"({'bc'[DELAYS.index(delay)]}) page, {delay * 1000:.0f} ms one way"


def spread_of(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def flash(kc, port: str) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    r = run(kc, f"%flash fw.bin --port {port} --no-wait", timeout=900)
    took = time.monotonic() - start
    if r.status != "ok" or "verified" not in r.shown:
        raise RuntimeError(f"%flash --port {port} failed: {r.shown} {r.error}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=1 << 20)
    args = parser.parse_args()
    if not mock.available():
        sys.exit("esp32-mock-bootloader is not installed (sh install/test-tools.sh)")
    times: dict[str, list[float]] = {LOCAL: [], **{page_key(d): [] for d in DELAYS}}
    frames: dict[str, Counter[str]] = {}
    with tempfile.TemporaryDirectory(prefix="mpk-flash-") as tmp, jupyter_server(Path(tmp)) as srv:
        (Path(tmp) / "fw.bin").write_bytes(esp8266_image(os.urandom(args.size)))
        proc, pty = mock.start(Path(tmp))
        kernel_id = str(srv.api("POST", "api/kernels", {"name": "micropython", "path": ""})["id"])
        kc = srv.client(kernel_id)
        try:
            for _ in range(args.runs):
                with throttled(pty, follow_baud=True) as local:
                    times[LOCAL].append(flash(kc, local))
                for delay in DELAYS:
                    page = BrowserPage(srv.url, kernel_id, pty, srv.token, delay=delay).start()
                    try:
                        times[page_key(delay)].append(flash(kc, "browser"))
                    finally:
                        page.stop()
                    frames[page_key(delay)] = Counter(chr(f[0]) for f in page.from_kernel)
        finally:
            kc.stop_channels()
            proc.kill()
            proc.wait(5)
    base = statistics.median(times[LOCAL])
    print(f"%flash of a {args.size / 1024:.0f} KB image, {args.runs} rounds; s min / median / max")
    for key, values in times.items():
        ratio = statistics.median(values) / base
        spread = " / ".join(f"{v:6.2f}" for v in spread_of(values))
        print(f"  {key:26} {spread}   {ratio:.2f}x")
    for key, count in frames.items():
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(count.items()))
        print(f"  frames to the page, {key}: {kinds}")


if __name__ == "__main__":
    main()
