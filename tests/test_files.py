"""File magics through the kernel, on the virtual board: correct, verified, never half-written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from conftest import CELL_NAMES, cell_names_changed, kernel_on_board, run
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

ALL_BYTES = bytes(range(256))


@pytest.fixture
def fk(rooted_kernel: tuple[KernelManager, BlockingKernelClient]) -> BlockingKernelClient:
    return rooted_kernel[1]


@pytest.fixture
def here(tmp_path: Path, fk: BlockingKernelClient) -> Path:
    """Run host paths relative to a fresh folder (the kernel's cwd may be elsewhere)."""
    return tmp_path


def ok(r) -> str:
    assert r.status == "ok", r.text + str(r.error)
    return r.shown


def test_binary_round_trip_every_byte_value(
    fk: BlockingKernelClient, here: Path, board_root: Path
) -> None:
    data = ALL_BYTES * 257 + b"\x00\x03\x04\r\n"  # odd size, control bytes included
    (here / "all.bin").write_bytes(data)
    out = ok(run(fk, f"%put {here / 'all.bin'} all.bin"))
    assert "verified by sha256" in out
    assert (board_root / "all.bin").read_bytes() == data
    assert not list(board_root.glob("*.mpk-part"))
    ok(run(fk, f"%get all.bin {here / 'back.bin'}"))
    assert (here / "back.bin").read_bytes() == data


def test_empty_file(fk: BlockingKernelClient, here: Path, board_root: Path) -> None:
    (here / "empty").write_bytes(b"")
    ok(run(fk, f"%put {here / 'empty'}"))
    assert (board_root / "empty").read_bytes() == b""
    ok(run(fk, f"%get empty {here / 'empty2'}"))
    assert (here / "empty2").read_bytes() == b""


def test_text_is_compressed_on_the_way(
    fk: BlockingKernelClient, here: Path, board_root: Path
) -> None:
    source = Path(__file__).read_bytes() * 3
    (here / "src.py").write_bytes(source)
    out = ok(run(fk, f"%put {here / 'src.py'}"))
    assert "deflate" in out
    assert (board_root / "src.py").read_bytes() == source


def test_file_larger_than_the_boards_free_heap(tmp_path: Path) -> None:
    data = os.urandom(150_000)
    (tmp_path / "big.bin").write_bytes(data)
    root = tmp_path / "board"
    with kernel_on_board(root, heap="48k") as kc:
        free = int(run(kc, "import gc\ngc.collect()\ngc.mem_free()").result or 0)
        assert free < len(data) // 2
        ok(run(kc, f"%put {tmp_path / 'big.bin'} big.bin", timeout=120))
        assert (root / "big.bin").read_bytes() == data
        ok(run(kc, f"%get big.bin {tmp_path / 'back.bin'}", timeout=120))
        assert (tmp_path / "back.bin").read_bytes() == data


def test_spaces_and_unicode_names(fk: BlockingKernelClient, here: Path, board_root: Path) -> None:
    (here / "my notes.txt").write_text("température ✓\n")
    ok(run(fk, '%mkdir -p "data dir/ü"'))
    ok(run(fk, f'%put "{here / "my notes.txt"}" "data dir/ü/né.txt"'))
    assert (board_root / "data dir" / "ü" / "né.txt").read_text() == "température ✓\n"
    assert "né.txt" in ok(run(fk, '%ls "data dir/ü"'))
    assert run(fk, '%cat "data dir/ü/né.txt"').stdout == "température ✓\n"


def test_missing_parent_and_missing_file(fk: BlockingKernelClient, here: Path) -> None:
    (here / "x.txt").write_text("x")
    r = run(fk, f"%put {here / 'x.txt'} no/such/dir/x.txt")
    assert r.status == "error" and "no such file or folder on the board" in r.reply["evalue"]
    r = run(fk, "%get nothing-here.txt")
    assert r.status == "error" and "nothing-here.txt" in r.reply["evalue"]
    r = run(fk, f"%put {here / 'not-here.txt'}")
    assert r.status == "error" and "No file" in r.reply["evalue"]
    assert len(r.error["traceback"]) == 1  # type: ignore[index]


def test_listing_and_shell_like_magics(fk: BlockingKernelClient, board_root: Path) -> None:
    ok(run(fk, "%mkdir -p lst/sub"))
    ok(run(fk, "%%writefile lst/a.txt\nhello\n"))
    ok(run(fk, "%%writefile -a lst/a.txt\nworld\n"))
    assert (board_root / "lst" / "a.txt").read_text() == "hello\nworld\n"
    ok(run(fk, "%%writefile lst/sub/b.py\nprint('b')\n"))
    short = run(fk, "%ls lst").stdout
    assert short.split() == ["a.txt", "sub/"]
    long = ok(run(fk, "%ls -l -r lst"))
    assert "12  a.txt" in long and "sub/b.py" in long and "dir  sub/" in long
    tree = ok(run(fk, "%tree lst"))
    assert "b.py" in tree and "sub/" in tree
    ok(run(fk, "%mv lst/a.txt lst/c.txt"))
    assert (board_root / "lst" / "c.txt").exists() and not (board_root / "lst" / "a.txt").exists()
    ok(run(fk, "%rm lst/c.txt"))
    r = run(fk, "%rmdir lst/sub")
    assert r.status == "error" and "not empty" in r.reply["evalue"]
    ok(run(fk, "%rm lst/sub/b.py"))
    ok(run(fk, "%rmdir lst/sub"))
    assert list((board_root / "lst").iterdir()) == []
    r = run(fk, "%rm lst")
    assert r.status == "error" and "%rmdir" in r.reply["evalue"]
    assert "free of" in ok(run(fk, "%df"))


def test_file_magics_keep_the_cells_globals(fk: BlockingKernelClient, here: Path) -> None:
    """A file magic is not the cell's code: the names cells defined stay as they were."""
    (here / "k.txt").write_text("kept\n")
    lost = []
    for line in [
        "%ls", "%ls -l -r", "%tree", f"%put {here / 'k.txt'} k.txt", "%cat k.txt",
        f"%get k.txt {here / 'k2.txt'}", "%mv k.txt k3.txt", "%rm k3.txt", "%df",
    ]:  # fmt: skip
        ok(run(fk, CELL_NAMES))
        ok(run(fk, line))
        if cell_names_changed(fk):
            lost.append(f"{line}: {cell_names_changed(fk)}")
    assert not lost, lost


def test_folders_recursively(fk: BlockingKernelClient, here: Path, board_root: Path) -> None:
    src = here / "proj"
    (src / "lib").mkdir(parents=True)
    (src / "main.py").write_text("import lib.util\n")
    (src / "lib" / "util.py").write_bytes(ALL_BYTES)
    r = run(fk, f"%put {src} proj")
    assert r.status == "error" and "-r" in r.reply["evalue"]
    ok(run(fk, f"%put -r {src} proj"))
    assert (board_root / "proj" / "lib" / "util.py").read_bytes() == ALL_BYTES
    ok(run(fk, f"%get -r proj {here / 'copy'}"))
    assert (here / "copy" / "lib" / "util.py").read_bytes() == ALL_BYTES
    assert (here / "copy" / "main.py").read_text() == "import lib.util\n"


def test_sync_copies_only_what_differs(
    fk: BlockingKernelClient, here: Path, board_root: Path
) -> None:
    src = here / "site"
    (src / "lib").mkdir(parents=True)
    for i in range(3):
        (src / f"f{i}.py").write_text(f"x = {i}\n")
    (src / "lib" / "m.py").write_text("y = 1\n")
    assert "copied 4, unchanged 0" in ok(run(fk, f"%sync {src} site"))
    (src / "f1.py").write_text("x = 'changed'\n")
    (board_root / "site" / "extra.txt").write_text("not in the source")
    out = ok(run(fk, f"%sync {src} site --delete --dry-run"))
    assert "would copy f1.py" in out and "would remove extra.txt" in out
    assert (board_root / "site" / "f1.py").read_text() == "x = 1\n"
    out = ok(run(fk, f"%sync {src} site --delete"))
    assert "copied 1, unchanged 3, removed 1" in out
    assert (board_root / "site" / "f1.py").read_text() == "x = 'changed'\n"
    assert not (board_root / "site" / "extra.txt").exists()


def test_progress_shows_a_widget_and_a_text_line(fk: BlockingKernelClient, here: Path) -> None:
    (here / "p.bin").write_bytes(ALL_BYTES * 64)
    r = run(fk, f"%put {here / 'p.bin'}")
    displays = r.of("display_data") + r.of("update_display_data")
    assert any("application/vnd.jupyter.widget-view+json" in d["data"] for d in displays)
    final = r.of("update_display_data")[-1]["data"]["text/plain"]
    assert "put p.bin: 16.0 KB in" in final and "/s" in final


RAM_DISK = """
import vfs
class RAMBlockDev:
    def __init__(self, block_size, num_blocks):
        self.block_size = block_size
        self.data = bytearray(block_size * num_blocks)
    def readblocks(self, block_num, buf, offset=0):
        addr = block_num * self.block_size + offset
        buf[:] = self.data[addr:addr + len(buf)]
    def writeblocks(self, block_num, buf, offset=None):
        offset = offset or 0
        if offset == 0 and len(buf) == self.block_size and False:
            pass
        addr = block_num * self.block_size + offset
        self.data[addr:addr + len(buf)] = buf
    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.block_size
        if op == 5:
            return self.block_size
        if op == 6:
            return 0
bdev = RAMBlockDev(512, 48)
vfs.VfsLfs2.mkfs(bdev)
vfs.mount(vfs.VfsLfs2(bdev), '/ramdisk')
"""


def test_full_storage_is_reported_and_nothing_is_left(fk: BlockingKernelClient, here: Path) -> None:
    ok(run(fk, RAM_DISK))
    (here / "huge.bin").write_bytes(os.urandom(60_000))
    r = run(fk, f"%put {here / 'huge.bin'} /ramdisk/huge.bin")
    assert r.status == "error"
    assert "board storage full" in r.reply["evalue"]
    listing = run(fk, "import os\nos.listdir('/ramdisk')").result
    assert listing == "[]"  # neither the file nor its temporary part
    (here / "small.txt").write_text("fits\n")
    ok(run(fk, f"%put {here / 'small.txt'} /ramdisk/small.txt"))
    assert run(fk, "open('/ramdisk/small.txt').read()").result == "'fits\\n'"


def test_helpers_leave_under_1kb_of_heap_behind(fk: BlockingKernelClient, here: Path) -> None:
    (here / "h.bin").write_bytes(os.urandom(20_000))
    ok(run(fk, f"%put {here / 'h.bin'}"))  # caps probed, helpers compiled once already
    before = int(run(fk, "import gc\ngc.collect()\ngc.mem_free()").result or 0)
    ok(run(fk, f"%put {here / 'h.bin'}"))
    ok(run(fk, f"%get h.bin {here / 'h2.bin'}"))
    ok(run(fk, "%ls"))
    after = int(run(fk, "import gc\ngc.collect()\ngc.mem_free()").result or 0)
    assert before - after < 1024, (before, after)


def test_tiny_board_without_hashlib_binascii_or_ilistdir(tmp_path: Path) -> None:
    data = ALL_BYTES * 8
    (tmp_path / "t.bin").write_bytes(data)
    root = tmp_path / "board"
    hide = "binascii,hashlib,deflate,os.ilistdir,micropython"
    with kernel_on_board(root, heap="12k", hide=hide) as kc:
        assert run(kc, "import hashlib\nhashlib").result is None  # hidden: None
        free = int(run(kc, "import gc\ngc.collect()\ngc.mem_free()").result or 0)
        assert free < 12_000
        out = ok(run(kc, f"%put {tmp_path / 't.bin'} t.bin"))
        assert "literal" in out and "read back" in out
        assert (root / "t.bin").read_bytes() == data
        assert "verified by adler32" in ok(run(kc, f"%get t.bin {tmp_path / 'back.bin'}"))
        assert (tmp_path / "back.bin").read_bytes() == data
        assert "t.bin" in ok(run(kc, "%ls -l"))
        ok(run(kc, CELL_NAMES))  # the one-exec-per-piece tier and the tiny board's listing too
        ok(run(kc, f"%put {tmp_path / 't.bin'} t2.bin"))
        ok(run(kc, f"%get t2.bin {tmp_path / 'back2.bin'}"))
        ok(run(kc, "%ls"))
        assert not cell_names_changed(kc)


def test_digest_helper_matches_host(fk: BlockingKernelClient, here: Path, board_root: Path) -> None:
    (here / "d.bin").write_bytes(ALL_BYTES)
    ok(run(fk, f"%put {here / 'd.bin'}"))
    code = "import hashlib\nh = hashlib.sha256(open('d.bin','rb').read()).digest()\nh"
    assert run(fk, code).result is not None
    assert (
        hashlib.sha256((board_root / "d.bin").read_bytes()).digest()
        == hashlib.sha256(ALL_BYTES).digest()
    )


def test_tree_draws_last_entries_and_mkdir_suggests_p(
    fk: BlockingKernelClient, board_root: Path
) -> None:
    r = run(fk, "%mkdir tr/a/b")
    assert r.status == "error" and r.error["ename"] == "FileError"  # type: ignore[index]
    assert "%mkdir -p tr/a/b" in r.error["evalue"]  # type: ignore[index]
    assert not (board_root / "tr").exists()
    ok(run(fk, "%mkdir -p tr/a/b"))
    ok(run(fk, "%%writefile tr/a/x.txt\nx\n"))
    ok(run(fk, "%%writefile tr/z.txt\nzz\n"))
    ok(run(fk, "%%writefile tr/a.txt\na\n"))  # sorts between "a" and "a/..." as a string
    tree = ok(run(fk, "%tree tr")).splitlines()
    assert tree == [
        "tr",
        "├── a/",
        "│   ├── b/",
        "│   └── x.txt  (2 B)",
        "├── a.txt  (2 B)",
        "└── z.txt  (3 B)",
    ], tree
