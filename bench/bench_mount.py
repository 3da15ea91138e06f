"""%mount: cell speed with a folder mounted, and imports/reads from it, against mpremote mount.

Run: `.venv/bin/python bench/bench_mount.py [--runs 100]`. One virtual board, over its PTY and
through the 115200-baud throttled link; the engine (Board) in-process, as mpremote runs:

- a trivial cell, not mounted and mounted (nothing read from the mount);
- importing a 10 KB module from the mount, and from the board's own filesystem;
- reading a 32 KB file from the mount, as a fraction of the wire limit on the slow link;
- mpremote's `mount_local` doing the same import (the peer).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_core import median_ms
from mpremote.transport_serial import SerialTransport as MpremoteTransport
from throttle import WIRE_RATE, throttled

from mpkernel.board.session import Board
from mpkernel.board.virtual.board import VirtualBoard

TRIVIAL = "x = 1"
IMPORT = "import sys\nsys.modules.pop('mod10k', None)\nimport mod10k"
READ = "len(open('blob.bin', 'rb').read())"


def module_10k() -> str:
    lines, i = [], 0
    while sum(map(len, lines)) < 10 * 1024:
        lines.append(f"def f{i}(x):\n    return x * {i} + {i * 7919 % 1000}\n")
        i += 1
    return "".join(lines)


def quiet(board: Board, code: str) -> None:
    result = board.run_cell(code, lambda text: None)
    if result.ename:
        raise RuntimeError(f"{code!r}: {result.ename}: {result.evalue}")


def ours(port: str, folder: Path, runs: int, slow_runs: int) -> dict[str, float]:
    board = Board.open(port)
    try:
        rows = {"trivial cell, not mounted": median_ms(lambda: quiet(board, TRIVIAL), runs)}
        quiet(board, f"f = open('/mod10k.py', 'w')\nf.write({module_10k()!r})\nf.close()")
        quiet(board, "import os\nos.chdir('/')")
        rows["import 10 KB from the board's flash"] = median_ms(
            lambda: quiet(board, IMPORT), slow_runs
        )
        quiet(board, "os.remove('/mod10k.py')")
        board.mount_folder(folder)
        rows["trivial cell, mounted"] = median_ms(lambda: quiet(board, TRIVIAL), runs)
        rows["import 10 KB from the mount"] = median_ms(lambda: quiet(board, IMPORT), slow_runs)
        start = time.perf_counter()
        quiet(board, READ)
        rows["read 32 KB from the mount"] = (time.perf_counter() - start) * 1000
        board.unmount()
        return rows
    finally:
        board.close()


def peer(port: str, folder: Path, runs: int) -> float:
    transport = MpremoteTransport(port, 115200)
    try:
        transport.enter_raw_repl(soft_reset=False)
        transport.mount_local(str(folder))
        result = median_ms(lambda: transport.exec(IMPORT), runs)
        transport.umount_local()
        transport.exit_raw_repl()
        return result
    finally:
        transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--slow-runs", type=int, default=5, help="imports, and the slow link")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root, tempfile.TemporaryDirectory() as host:
        folder = Path(host)
        (folder / "mod10k.py").write_text(module_10k())
        (folder / "blob.bin").write_bytes(os.urandom(32 * 1024))
        board = VirtualBoard(root=root)
        try:
            print("mpkernel bench_mount: %mount on the virtual board (unix port)\n")
            for link, runs, slow in (
                ("PTY (no rate limit)", args.runs, False),
                ("throttled 115200 8N1", args.slow_runs * 4, True),
            ):
                if slow:
                    with throttled(board.port) as port:
                        rows = ours(port, folder, runs, args.slow_runs)
                        rows["mpremote mount: import 10 KB"] = peer(port, folder, args.slow_runs)
                else:
                    rows = ours(board.port, folder, runs, args.slow_runs)
                    rows["mpremote mount: import 10 KB"] = peer(board.port, folder, args.slow_runs)
                print(f"{link} (medians):")
                for name, ms in rows.items():
                    print(f"    {name:38s} {ms:9.2f} ms")
                cost = rows["trivial cell, mounted"] / rows["trivial cell, not mounted"]
                vs = rows["import 10 KB from the mount"] / rows["mpremote mount: import 10 KB"]
                print(f"    mounted cell / unmounted: {cost:.2f}x; import vs mpremote: {vs:.2f}x")
                if slow:
                    rate = 32 * 1024 / (rows["read 32 KB from the mount"] / 1000)
                    print(
                        f"    32 KB read: {rate:,.0f} B/s = {rate / WIRE_RATE:.2f} of the wire "
                        "limit"
                    )
                print()
        finally:
            board.stop()


if __name__ == "__main__":
    main()
