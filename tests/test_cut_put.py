"""A put cut off mid-file leaves the board's fs_put helper waiting for raw bytes with Ctrl-C
off (a self-powered board whose cable was pulled, a kernel that died): connecting again ends
it and gives a usable board, with its variables and the file as it was. Real MicroPython
(the virtual board) on its PTY; the link that went away is a serial port closed mid-frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpkernel.board.helpers import helper_call
from mpkernel.board.session import Board
from mpkernel.board.virtual.board import VirtualBoard

FRAME = bytes(range(120))
#: Where the link went: the bytes of the put written before it did.
CUTS = {
    "in the first header": b"\x00",
    "in the data": (120).to_bytes(2, "big") + FRAME[:50],
    "between frames": (120).to_bytes(2, "big") + FRAME,
    "in the next header": (120).to_bytes(2, "big") + FRAME + b"\x00",
}


@pytest.mark.parametrize("cut", list(CUTS))
def test_connecting_again_ends_a_cut_put(tmp_path: Path, cut: str) -> None:
    with VirtualBoard(root=tmp_path) as vb:
        (tmp_path / "f.bin").write_bytes(b"the old file")
        board = Board.open(vb.port)
        board.exec_capture("kept = 'still here'")
        board.repl.send(helper_call("fs_put", "_mpk_put('f.bin.mpk', 0, 0)").encode())
        assert board.repl.read_exact(1, timeout=10) == b"R"
        board.transport.write(CUTS[cut])
        if cut in ("between frames", "in the next header"):
            assert board.repl.read_exact(1, timeout=10) == b"#"  # a whole frame taken
        board.transport.close()  # the link goes; the board stays in the helper

        again = Board.open(vb.port)
        try:
            assert again.repl.cut_put
            (notice,) = again.take_notices()
            assert "file transfer cut off" in notice
            assert again.eval_literal("kept") == "still here"  # never reset
            assert again.eval_literal("sorted(__import__('os').listdir())") == ["f.bin"]
            assert (tmp_path / "f.bin").read_bytes() == b"the old file"
            assert again.exec_capture("print(6 * 7)").strip() == "42"
        finally:
            again.close()
