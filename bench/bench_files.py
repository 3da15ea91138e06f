"""File transfer rates through a 115200-baud link: mpkernel against mpremote (issue 3).

Run: `.venv/bin/python bench/bench_files.py [--kb 64]`. One virtual board, reached through
the throttled relay (11,520 bytes/s each way), serves both tools in the same run. For a
binary file (random bytes) and a Python source file, it prints put and get rates as a
fraction of the wire limit. mpremote's numbers are its `fs cp` code path
(SerialTransport.fs_writefile / fs_readfile), in-process, so no start-up time is counted.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sysconfig
import tempfile
import time
from pathlib import Path

from mpremote.transport_serial import SerialTransport as MpremoteTransport
from throttle import WIRE_RATE, throttled

from mpkernel.board.filesystem import BoardFiles
from mpkernel.board.session import Board
from mpkernel.board.virtual.board import VirtualBoard


def python_source(size: int) -> bytes:
    """`size` bytes of real Python source (the standard library's json and email packages)."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    text = b"".join(p.read_bytes() for p in sorted((lib / "email").glob("*.py")))
    return (text * (size // len(text) + 1))[:size]


def mpkernel_rates(port: str, name: str, data: bytes) -> tuple[float, float, str]:
    board = Board.open(port)
    try:
        files = BoardFiles(board)
        put = files.put(data, name)
        back, got = files.get(name)
        assert back == data, "mpkernel: the file read back differs"
        return put.rate, got.rate, f"put {put.encoding}, get {got.encoding}"
    finally:
        board.close()


def mpremote_rates(port: str, name: str, data: bytes) -> tuple[float, float]:
    transport = MpremoteTransport(port, 115200)
    try:
        transport.enter_raw_repl(soft_reset=False)
        start = time.perf_counter()
        transport.fs_writefile(name, data)
        put = len(data) / (time.perf_counter() - start)
        start = time.perf_counter()
        back = transport.fs_readfile(name)
        got = len(data) / (time.perf_counter() - start)
        assert bytes(back) == data, "mpremote: the file read back differs"
        transport.exit_raw_repl()
        return put, got
    finally:
        transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=64, help="file size in KB (default 64)")
    parser.add_argument("--no-mpremote", action="store_true", help="skip the slow peer")
    args = parser.parse_args()
    size = args.kb * 1024
    samples = {
        "binary": random.Random(3).randbytes(size),
        "source": python_source(size),
    }
    print(f"bench_files: {args.kb} KB files, virtual board behind a 115200 8N1 link")
    print(f"wire limit {WIRE_RATE:,} B/s; rates as B/s and fraction of the limit\n")
    with tempfile.TemporaryDirectory() as root:
        board = VirtualBoard(root=root)
        try:
            with throttled(board.port) as slow:
                for kind, data in samples.items():
                    digest = hashlib.sha256(data).hexdigest()[:12]
                    put, get, how = mpkernel_rates(slow, f"mpk_{kind}.bin", data)
                    print(f"{kind} ({len(data):,} B, sha256 {digest}):")
                    print(f"  mpkernel  put {fmt(put)}   get {fmt(get)}   ({how})")
                    if args.no_mpremote:
                        continue
                    mput, mget = mpremote_rates(slow, f"mpr_{kind}.bin", data)
                    print(f"  mpremote  put {fmt(mput)}   get {fmt(mget)}")
                    print(f"  mpkernel/mpremote: put {put / mput:.1f}x, get {get / mget:.1f}x")
        finally:
            board.stop()


def fmt(rate: float) -> str:
    return f"{rate:8,.0f} B/s = {rate / WIRE_RATE:4.2f}"


if __name__ == "__main__":
    main()
