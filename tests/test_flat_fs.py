"""A micro:bit-like board: a flat filesystem (os has listdir, remove, size only; no
rename, stat or folders), no hashlib, binascii or deflate, and a small heap."""

from __future__ import annotations

import ast
import subprocess
import sys
import zlib
from pathlib import Path

from conftest import Run, run, start_kernel

from mpkernel.board.helpers import helper, helper_call
from mpkernel.board.stream_files import TINY_CHUNK, TINY_OPEN, TINY_READ, TINY_WRITE
from mpkernel.board.virtual.board import VirtualBoard

DATA = bytes(range(256)) * 8
HIDE = "binascii,hashlib,deflate,micropython"
#: Heap of the end-to-end test (about 9.6 KB free after connecting). The board's helpers
#: fit 4-5 KB heaps on their own (test_small_tier_code_runs_on_a_small_heap); a whole
#: session passes from an 8 KB heap (7.6 KB free); at 7 KB the first cell after connecting
#: finds no 1 KB block (the parser's first stack) once the connection's qstrs are interned.
HEAP = "10k"
FREE = 10_000


def ok(r: Run) -> str:
    assert r.status == "ok", r.text + str(r.error)
    return r.shown


def one_line_error(r: Run, *words: str) -> str:
    assert r.status == "error", r.shown
    text = f"{r.error['ename']}: {r.error['evalue']}"
    assert "\n" not in text and "Traceback" not in r.shown, r.shown
    for word in words:
        assert word in text, text
    return text


def test_flat_filesystem_on_a_small_heap(tmp_path: Path) -> None:
    (tmp_path / "t.bin").write_bytes(DATA)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "x.txt").write_text("x")
    root = tmp_path / "board"
    root.mkdir()
    (root / "old.txt").write_text("kept")
    with VirtualBoard(root=root, heap=HEAP, hide=HIDE, flat=True) as vb:
        km, kc = start_kernel()
        try:
            ok(run(kc, f"%connect {vb.port}"))
            # The variant is what it claims: no os.stat, an os.size, a small heap.
            assert run(kc, "import os\nhasattr(os, 'stat'), hasattr(os, 'size')").result == (
                "(False, True)"
            )
            free = int(run(kc, "import gc\ngc.collect()\ngc.mem_free()").result or 0)
            assert 0 < free < FREE

            out = ok(run(kc, f"%put {tmp_path / 't.bin'} t.bin"))
            assert "literal" in out and "read back" in out
            assert (root / "t.bin").read_bytes() == DATA
            assert not list(root.glob("*.mpk-part"))

            out = ok(run(kc, f"%get t.bin {tmp_path / 'back.bin'}"))
            assert "verified by adler32" in out, out
            assert (tmp_path / "back.bin").read_bytes() == DATA

            ok(run(kc, "%%writefile hello.py\nprint('hi')\n"))
            assert (root / "hello.py").read_text() == "print('hi')\n"
            ok(run(kc, "%%writefile -a hello.py\nprint('again')\n"))
            assert (root / "hello.py").read_text() == "print('hi')\nprint('again')\n"
            assert "print('again')" in ok(run(kc, "%cat hello.py"))

            listing = ok(run(kc, "%ls -l"))
            assert "2048" in listing and "t.bin" in listing and "old.txt" in listing, listing

            ok(run(kc, "%mv t.bin u.bin"))
            assert (root / "u.bin").read_bytes() == DATA and not (root / "t.bin").exists()
            ok(run(kc, "%rm u.bin"))
            assert not (root / "u.bin").exists()
            assert (root / "old.txt").read_text() == "kept"

            one_line_error(run(kc, "%mkdir d"), "no folders")
            one_line_error(run(kc, "%rmdir d"), "no folders")
            one_line_error(run(kc, f"%put -r {tmp_path / 'folder'} folder"), "no folders")
            one_line_error(run(kc, "%df"), "free space")
            assert not list(root.glob("*.mpk-part"))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


#: os as a flat filesystem has it, for running helpers straight on the unix port.
FLAT_OS = (
    "import os\nclass M:\n pass\nm = M()\nm.listdir = os.listdir\nm.remove = os.remove\n"
    "m.size = lambda n, s=os.stat: s(n)[6]\nimport sys\nsys.modules['os'] = m\ndel m, M, sys\n"
)
#: A 4 KB heap on the 64-bit unix port leaves ~3 KB free, as many objects as ~1.5 KB holds
#: on a 32-bit board; the parser's first stack (1 KB) fits, its regrowth (+1.25 KB) does not.
SMALL_HEAP = "4k"


def run_small(folder: Path, code: str, heap: str = SMALL_HEAP) -> str:
    """Run code as a script on the unix port with a small heap; what it printed."""
    (folder / "c.py").write_text(code)
    argv = ["micropython", "-X", f"heapsize={heap}", "c.py"]
    done = subprocess.run(
        [sys.executable, "-c", f"import sys, micropython_unix; sys.argv = {argv!r}; "
         "micropython_unix.main()"],
        cwd=folder, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert "Error" not in out, f"{code[:60]!r} on a {heap} heap: {out[-200:]}"
    return out


def test_small_tier_code_runs_on_a_small_heap(tmp_path: Path) -> None:
    """Every piece of code the small-heap tier and flat boards use fits a ~2 KB heap and
    parses within MicroPython's first parser stack (deeper code reallocates it: 1.25 KB)."""
    (tmp_path / "x.bin").write_bytes(DATA)
    (tmp_path / "y.bin").write_bytes(b"y" * 100)
    assert run_small(tmp_path, helper("caps"), heap="5k").strip() == "1111111111"
    assert run_small(tmp_path, "_mpk_P = 'x.bin'\n" + helper("fs_stat")).strip() == "(False, 2048)"
    assert "('x.bin', False, 2048)" in run_small(tmp_path, "_mpk_P = ''\n" + helper("fs_ls"))
    size = run_small(tmp_path, FLAT_OS + "_mpk_P = 'x.bin'\n" + helper("fs_size"), "5k")
    assert size.strip() == "2048"
    assert "('x.bin', False, 2048)" in run_small(tmp_path, FLAT_OS + helper("fs_ls_flat"), "5k")
    value = zlib.adler32(DATA)
    assert run_small(tmp_path, helper_call("fs_sum", "_mpk_sum('x.bin')")).strip() == (
        f"{value & 0xFFFF} {value >> 16}"
    )
    run_small(tmp_path, "_mpk_T = 'y.bin'\n_mpk_P = 'z.bin'\n" + helper("fs_copy"))
    assert (tmp_path / "z.bin").read_bytes() == b"y" * 100 and not (tmp_path / "y.bin").exists()
    run_small(tmp_path, "_mpk_T = 'z.bin'\n_mpk_P = 'x.bin'\n" + helper("fs_replace"))
    assert (tmp_path / "x.bin").read_bytes() == b"y" * 100
    # The per-chunk tier.
    opened = TINY_OPEN.format(path="w.bin", mode="wb", name="_w", method="write")
    run_small(tmp_path, opened + "\n" + TINY_WRITE.format(chunk=DATA[:TINY_CHUNK]))
    assert (tmp_path / "w.bin").read_bytes() == DATA[:TINY_CHUNK]
    opened = TINY_OPEN.format(path="w.bin", mode="rb", name="_r", method="read")
    out = run_small(tmp_path, opened + "\n" + TINY_READ)
    assert ast.literal_eval(out.strip()) == DATA[:TINY_CHUNK]
