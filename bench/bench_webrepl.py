"""WebREPL over a slow link: file rates and cell round trips, mpkernel against webrepl_cli.

Run: `.venv/bin/python bench/bench_webrepl.py [--kb 64] [--rate 250000] [--delays 0,10,50]`
(`--cells`: only the engine's cells against the bare raw REPL).
A WebREPL server (tests/webrepl_server.py: the firmware's protocol in front of a unix-port
MicroPython) sits behind bench/relay.py, which adds a one-way delay and caps each direction
at `rate` bytes/s. A kernel, started as Jupyter starts it, connects through the relay with
`%connect ws://...`; for a 64 KB binary file and a 64 KB Python source file it times `%put`
and `%get` (execute request to idle, verified and atomic as users get them), and the median
trivial cell. The peer is webrepl_cli's algorithm (its PUT and GET as the firmware's client
does them, unverified), on the same relay. Rates print as fractions of the link's rate;
cells as milliseconds and as round trips (2 x delay).

Which path each transfer takes over WebREPL, and why (issue 19):
- put: the firmware's binary PUT, the data right behind the header (no wait for its first
  reply), at most 64 KB unacknowledged. Just ahead of the header goes fs_commit's function
  (one plain raw-mode frame with its probe, so its answer needs no round trip of its own);
  once it has answered (while the data flows), one short command behind the data calls it:
  the board hashes the temporary file and only if its SHA-256 is the one the host sent
  renames it over the target (inside it where the target is a folder), else removes it, and
  prints the digest and the path written; the call deletes the function. So a put takes one
  round trip beyond its bytes, and is verified and atomic. Where the board has no hashlib,
  os.rename or os.stat, or long names make the call longer than one frame (the REPL's
  stdin holds 255 bytes on an ESP8266), the older path: the stat ahead, the SHA-256
  command behind (or a read back without hashlib), then a rename of its own. Streaming
  through the REPL is not used: that 256-byte ring buffer drops what does not fit, so a put
  through it moves at most 256 bytes per round trip (12.8 KB/s at 20 ms, 0.05 of this link).
- get: the firmware's binary GET with requests sent ahead (a window of the round trip the
  header took x 1 MB/s, 32..256 requests, in batches), the SHA-256 command (with its probe)
  behind the last request. Streaming through the REPL (fs_get over stdout) would first
  upload a 600-byte helper by raw-paste (three round trips at 128-byte windows); the binary
  GET needs none and no board heap.
- a cell: one plain raw-mode frame (code + Ctrl-D + probe) out, one burst back: one round
  trip, the floor (the bare raw-REPL row); the rest is Jupyter's messaging (~2.5 ms here).
  The WebREPL server sets TCP_NODELAY: with Nagle, what the REPL printed after `OK` waited
  for the relay's delayed ACK (a cell took 3.4 round trips, the floor 3.2). A real
  ESP8266's lwIP likely keeps Nagle on (modlwip sets no TCP_NODELAY), so mpkernel
  acknowledges every frame at once (TCP_QUICKACK): against a server with Nagle on (last
  section, no relay) a cell takes 0.33 ms median, against 23 ms (up to 48 ms) with the
  system's delayed ACKs.

Measured 2026-11-26 on main + this change (2 cores shared with another session), three
runs of --runs 30 --repeat 5, min / median / max over the runs (cells: of the medians and
of all 90), transfers as fractions of the link (binary and text alike):
                 put                  get                  trivial cell
  0 ms     mpk   0.90 / 0.94 / 0.95   0.85 / 0.93 / 0.95   2.8 / 4.0 / 4.6 ms (medians)
           cli   0.92 / 0.98 / 0.99   0.64 / 0.75 / 0.79   floor 0.4-0.5 ms
  10 ms    mpk   0.86 / 0.87 / 0.89   0.79 / 0.81 / 0.82   1.25 / 1.26 / 1.35 round trips
           cli   0.84 / 0.85 / 0.86   0.05 / 0.05 / 0.05   (all 90: 1.19 .. 2.08; floor 1.04-1.08)
  50 ms    mpk   0.68 / 0.69 / 0.70   0.47 / 0.48 / 0.48   1.04 / 1.05 / 1.06 round trips
           cli   0.55 / 0.56 / 0.56   0.01 / 0.01 / 0.01   (floor 1.01-1.02)
With `stress-ng --cpu 2` beside it (two runs at 10 ms): cell medians 1.29 and 1.38 round
trips (min 1.18, max 1.77; floor median 1.04, max 1.77), put 0.87, get 0.80-0.82.
Round trips per operation (counted in frames, not timed): put = data + 1 (function ahead,
its call behind, both answered with the board's reply); get = stat (1) + first chunk (1) +
data, digest with the last chunk; cell = 1. Before: (10 ms, issue 19's first round) put
0.72-0.82, get 0.73-0.81, cell 1.22 (1.90 under load); before issue 19: put 0.61, get 0.04.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import websocket
from bench_core import timings
from jupyter_client.manager import start_new_kernel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from webrepl_server import WebReplServer  # noqa: E402

PASSWORD = "bench12"
HEADER = struct.Struct("<2sBBQLH64s")


def python_source(size: int) -> bytes:
    """`size` bytes of real Python source (the standard library's email package)."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    text = b"".join(p.read_bytes() for p in sorted((lib / "email").glob("*.py")))
    return (text * (size // len(text) + 1))[:size]


class RelayProcess:
    """bench/relay.py in its own process (its own interpreter lock)."""

    def __init__(self, target: int, delay: float, rate: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "relay.py"), str(target), "--delay", str(delay),
             "--rate", str(rate)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.url = f"ws://127.0.0.1:{self.proc.stdout.readline().strip()}"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


# -- the peer: webrepl_cli's algorithm -------------------------------------------------------


class WebreplCli:
    """What webrepl_cli does: log in; PUT in 1 KB frames; GET one 256-byte chunk per request."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=30, skip_utf8_validation=True)
        seen = b""
        while not seen.endswith(b"Password: "):
            seen += self.ws.recv_data()[1]
        self.ws.send(PASSWORD + "\r")
        while b"WebREPL connected" not in seen:
            seen += self.ws.recv_data()[1]
        self.buf = b""

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            opcode, data = self.ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_BINARY:
                self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _ok(self) -> None:
        assert self._read(4) == b"WB\x00\x00"

    def put(self, name: str, data: bytes) -> None:
        raw = name.encode()
        self.ws.send_binary(HEADER.pack(b"WA", 1, 0, 0, len(data), len(raw), raw))
        self._ok()
        for i in range(0, len(data), 1024):
            self.ws.send_binary(data[i : i + 1024])
        self._ok()

    def get(self, name: str) -> bytes:
        raw = name.encode()
        self.ws.send_binary(HEADER.pack(b"WA", 2, 0, 0, 0, len(raw), raw))
        self._ok()
        out = bytearray()
        while True:
            self.ws.send_binary(b"\x00")
            (n,) = struct.unpack("<H", self._read(2))
            if not n:
                break
            out += self._read(n)
        self._ok()
        return bytes(out)

    def _text_until(self, end: bytes) -> None:
        seen = b""
        while not seen.endswith(end):
            opcode, data = self.ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_TEXT:
                seen += data

    def cell_s(self, runs: int) -> list[float]:
        """The floor for a cell: raw REPL `x = 1` + Ctrl-D, read to the closing `\\x04>`."""
        self.ws.send("\r\x01")
        self._text_until(b"CTRL-B to exit\r\n>")

        def once() -> None:
            self.ws.send("x = 1\x04")
            self._text_until(b"\x04>")

        seconds = timings(once, runs)
        self.ws.send("\x02")
        return seconds

    def close(self) -> None:
        self.ws.close()


# -- mpkernel through a kernel ---------------------------------------------------------------


class Kernel:
    def __init__(self) -> None:
        env = {**os.environ, "MPKERNEL_WEBREPL_PASSWORD": PASSWORD}
        self.km, self.kc = start_new_kernel(kernel_name="micropython", env=env)

    def run(self, code: str) -> str:
        out: list[str] = []

        def hook(msg: dict) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(content["text"])
            elif msg["msg_type"] in ("display_data", "update_display_data"):
                out.append(content["data"].get("text/plain", "") + "\n")

        reply = self.kc.execute_interactive(code, output_hook=hook, timeout=300, allow_stdin=False)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"{code[:40]!r} failed: {reply['content'].get('evalue')}")
        return "".join(out)

    def timed(self, code: str) -> tuple[float, str]:
        start = time.perf_counter()
        out = self.run(code)
        return time.perf_counter() - start, out

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def kernelspec(root: Path) -> None:
    """A `micropython` kernelspec running this interpreter, found first by Jupyter."""
    spec = root / "kernels" / "micropython"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "mpkernel", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "MicroPython", "language": "python"})
    )
    os.environ["JUPYTER_PATH"] = str(root)


def spread(values: list[float]) -> tuple[float, float, float]:
    """(min, median, max)."""
    return min(values), statistics.median(values), max(values)


def trips(seconds: list[float], rtt: float) -> str:
    """Times as ms min/median/max, and as round trips where there is a delay."""
    lo, mid, hi = spread(seconds)
    text = f"{lo * 1000:.1f} / {mid * 1000:.1f} / {hi * 1000:.1f} ms"
    if rtt:
        text += f" = {lo / rtt:.2f} / {mid / rtt:.2f} / {hi / rtt:.2f} round trips"
    return text


def rates(size: int, seconds: list[float], link: float) -> str:
    """Fractions of the link's rate, min/median/max."""
    lo, mid, hi = spread([size / s / link for s in seconds])
    return f"{lo:.2f} / {mid:.2f} / {hi:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=64)
    parser.add_argument("--rate", type=float, default=250_000, help="link bytes/s each way")
    parser.add_argument("--delays", default="0,10,50", help="one-way delays, ms")
    parser.add_argument("--runs", type=int, default=30, help="trivial cells per delay")
    parser.add_argument("--repeat", type=int, default=5, help="transfers per file and delay")
    parser.add_argument(
        "--cells",
        action="store_true",
        help="only the engine's cells (run_cell, in-process) against the bare raw REPL",
    )
    args = parser.parse_args()
    if args.cells:
        for delay_ms in (float(d) for d in args.delays.split(",")):
            engine_cells(delay_ms, args.rate, args.runs)
        return
    size = args.kb * 1024
    samples = {"binary": random.Random(19).randbytes(size), "text": python_source(size)}
    rate = args.rate
    print(f"bench_webrepl: {args.kb} KB files; link {rate / 1000:,.0f} KB/s each way")
    print(f"{args.repeat} transfers per file and delay; cells in ms and round trips\n")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        kernelspec(work / "jupyter")
        server = WebReplServer(work / "board", password=PASSWORD)
        kernel = Kernel()
        try:
            for delay_ms in (float(d) for d in args.delays.split(",")):
                relay = RelayProcess(server.port, delay_ms / 1000, rate)
                try:
                    bench_one(kernel, relay.url, server, samples, work, delay_ms, args)
                finally:
                    relay.close()
            heap(kernel, server)
        finally:
            kernel.close()
            server.stop()
        nagle(work, args.runs)


def engine_cells(delay_ms: float, rate: float, runs: int) -> None:
    """mpkernel's engine (Board.run_cell) against the bare raw REPL, same link (issue 28)."""
    from mpkernel.board.session import Board

    rtt = 2 * delay_ms / 1000
    with tempfile.TemporaryDirectory() as tmp:
        server = WebReplServer(Path(tmp) / "board", password=PASSWORD)
        relay = RelayProcess(server.port, delay_ms / 1000, rate)
        try:
            board = Board.open(relay.url, password=PASSWORD)
            rows = {
                code: timings(lambda c=code: board.run_cell(c, lambda _: None), runs)
                for code in ("x = 1", "print(1)")
            }
            board.close()
            deadline = time.monotonic() + 5
            while server.client is not None and time.monotonic() < deadline:
                time.sleep(0.01)
            peer = WebreplCli(url=relay.url)
            try:
                bare = peer.cell_s(runs)
            finally:
                peer.close()
        finally:
            relay.close()
            server.stop()
    print(f"one-way delay {delay_ms:g} ms, {runs} cells each, min / median / max:")
    print(f"  bare raw REPL 'x = 1'      {trips(bare, rtt)}")
    for code, seconds in rows.items():
        ratio = statistics.median(seconds) / statistics.median(bare)
        print(f"  engine {code!r:19s} {trips(seconds, rtt)} ({ratio:.2f}x bare)")


def nagle(work: Path, runs: int) -> None:
    """A board's lwIP keeps Nagle's algorithm on: what the REPL prints after `OK` waits for
    the ACK of `OK`. Directly (no relay: the relay would be the one acknowledging), the
    engine's trivial cell against such a server, with this computer's quick ACKs (what
    mpkernel does) and with the system's delayed ACKs."""
    from mpkernel.board.links import webrepl
    from mpkernel.board.session import Board

    server = WebReplServer(work / "nagle", password=PASSWORD, nagle=True)
    quick = webrepl._QUICKACK
    try:
        print("\nserver with Nagle on (as a board's lwIP), loopback, engine in-process:")
        for label, option in (("quick ACKs (mpkernel)", quick), ("delayed ACKs", None)):
            webrepl._QUICKACK = option
            board = Board.open(f"ws://127.0.0.1:{server.port}", password=PASSWORD)
            try:
                cell = timings(lambda b=board: b.run_cell("x = 1", lambda text: None), runs)
            finally:
                board.close()
            lo, mid, hi = spread(cell)
            print(f"  trivial cell, {label:22s} {lo * 1000:6.2f} / {mid * 1000:6.2f} / "
                  f"{hi * 1000:6.2f} ms (min/median/max)")  # fmt: skip
    finally:
        webrepl._QUICKACK = quick
        server.stop()


def bench_one(kernel: Kernel, url: str, server: WebReplServer, samples: dict[str, bytes],
              work: Path, delay_ms: float, args: argparse.Namespace) -> None:  # fmt: skip
    rtt = 2 * delay_ms / 1000
    link = args.rate
    print(f"one-way delay {delay_ms:g} ms (round trip {rtt * 1000:g} ms):")
    kernel.run(f"%connect {url}")
    kernel.run("x = 1")
    warm = work / "warm.bin"
    warm.write_bytes(b"warm" * 64)
    kernel.run(f"%put {warm} warm.bin")  # the first transfer asks the board what it offers
    cell = timings(lambda: kernel.run("x = 1"), args.runs)
    before = len(server.received)
    kernel.run("x = 1")
    frames = [kind for kind, _ in server.received[before:]]
    print(
        f"  trivial cell (execute to idle, {args.runs} runs, min/median/max): {trips(cell, rtt)}"
        f" ({len(frames)} {'/'.join(sorted(set(frames)))} frame(s) to the board)"
    )
    rows = []
    for kind, data in samples.items():
        local, back = work / f"{kind}.local", work / f"{kind}.back"
        local.write_bytes(data)
        puts: list[float] = []
        gets: list[float] = []
        how_put = how_get = ""
        for _ in range(args.repeat):
            seconds, out = kernel.timed(f"%put {local} mpk_{kind}.bin")
            puts.append(seconds)
            how_put = route(out)
            assert (server.root / f"mpk_{kind}.bin").read_bytes() == data
            back.unlink(missing_ok=True)
            seconds, out = kernel.timed(f"%get mpk_{kind}.bin {back}")
            gets.append(seconds)
            how_get = route(out)
            assert back.read_bytes() == data, "mpkernel: the file read back differs"
        rows.append((kind, "mpkernel", puts, gets, f"put {how_put}; get {how_get}"))
    kernel.run("%disconnect")
    deadline = time.monotonic() + 5
    while server.client is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    peer = WebreplCli(url)
    try:
        bare = peer.cell_s(args.runs)
    finally:
        peer.close()
    while server.client is not None:
        time.sleep(0.01)
    print(f"  bare raw-REPL cell over the same link (the floor): {trips(bare, rtt)}")
    for kind, data in samples.items():
        puts, gets = [], []
        for _ in range(args.repeat):
            peer = WebreplCli(url)
            try:
                start = time.perf_counter()
                peer.put(f"cli_{kind}.bin", data)
                puts.append(time.perf_counter() - start)
                start = time.perf_counter()
                back_data = peer.get(f"cli_{kind}.bin")
                gets.append(time.perf_counter() - start)
                assert back_data == data, "webrepl_cli: the file read back differs"
            finally:
                peer.close()
            while server.client is not None:
                time.sleep(0.01)
        rows.append((kind, "webrepl_cli", puts, gets, "binary PUT / GET, unverified"))
    print("  rates as fractions of the link, min / median / max:")
    for kind, who, puts, gets, how in rows:
        n = len(samples[kind])
        print(
            f"  {kind:6s} {who:11s} put {rates(n, puts, link)}   get {rates(n, gets, link)}"
            f"   ({how})"
        )
    print()


def heap(kernel: Kernel, server: WebReplServer) -> None:
    """Heap the board spends on a transfer: the commands that travel with it.

    The file bytes themselves never touch the Python heap (the firmware's WebREPL code
    moves them through a 512-byte static buffer, or 258 bytes of C stack per GET chunk, and
    its TCP buffers); the GET window adds only its request bytes (one each) to those.
    Measured with the collector off, so this is everything the command allocates,
    compilation included, for a 300-byte file (each further 256 bytes read adds 256 B of
    garbage the collector takes back). fs_commit's function is what stays on the board
    between the command ahead of a put and its call behind the data.
    """
    from mpkernel.board.channel import hash_code
    from mpkernel.board.helpers import helper, packed
    from mpkernel.board.webrepl_files import GET_WINDOW_MAX, commit_call

    kernel.run(f"%connect ws://127.0.0.1:{server.port}")
    (server.root / "heap.bin").write_bytes(bytes(300))
    digest = hashlib.sha256(bytes(300)).hexdigest()
    call = commit_call("heap.bin", "heap2.bin", digest, "heap.bin")
    print("board heap per transfer (virtual board: 64-bit unix port, objects ~2x an ESP8266's):")
    for name, code in (
        ("SHA-256 command", hash_code("heap.bin")),
        ("stat command", f"_mpk_P = 'heap.bin'\n{helper('fs_stat')}"),
        ("commit, ahead", packed("fs_commit")),
        ("commit, behind", call),  # calls (and deletes) the function defined ahead
    ):
        out = kernel.run(
            "import gc\ngc.collect()\ngc.disable()\n_a = gc.mem_alloc()\n"
            f"exec({code!r})\n_b = gc.mem_alloc()\ngc.enable()\nprint('heap_used', _b - _a)\n"
            "del _a, _b"
        )
        used = out.split("heap_used", 1)[1].split()[0]
        print(f"  {name:16s} {len(code):4d} B on the wire, {used} B of heap (compile + run)")
    assert (server.root / "heap2.bin").read_bytes() == bytes(300)
    out = kernel.run(
        f"import gc\ngc.collect()\n_a = gc.mem_free()\nexec({packed('fs_commit')!r})\n"
        "gc.collect()\nprint('heap_used', _a - gc.mem_free())\ndel _a, _mpk_commit"
    )
    kept = out.split("heap_used", 1)[1].split()[0]
    print(f"  {'commit, kept':16s} {kept} B held from the command ahead to the call behind")
    print(f"  GET window: at most {GET_WINDOW_MAX} requests = {GET_WINDOW_MAX} B at the board")
    kernel.run("%disconnect")


def route(out: str) -> str:
    """The transfer's route as %put/%get report it (the words in parentheses)."""
    line = out.strip().splitlines()[-1] if out.strip() else ""
    return line[line.find("(") + 1 : line.rfind(")")] if "(" in line else line


if __name__ == "__main__":
    main()
