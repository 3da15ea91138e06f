"""A connection's state in one record owned by the connection, and one mapping from an
exception to the line the user sees (cells and the board panel alike)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mpkernel.board.links.transport import TransportError
from mpkernel.board.repl.cell import CellRefused
from mpkernel.errors import BoardError, OperationError, UsageError
from mpkernel.flash.esp import FlashError
from mpkernel.services.connection import Connection
from mpkernel.services.failures import failure_of

ROOT = Path(__file__).resolve().parent.parent / "mpkernel"


def test_the_connection_record_holds_the_files_and_goes_with_the_board(tmp_path: Path) -> None:
    conn = Connection()
    assert conn.current is None and conn.board is None
    board = conn.open("virtual", root=str(tmp_path), unannounced=True)
    try:
        record = conn.current
        assert record is not None and record.board is board and conn.board is board
        assert record.files.board is board
        with conn.using_files() as fs:
            assert fs is record.files  # one channel per connection, chosen once
            fs.put(b"kept\n", "note.txt")
        assert (tmp_path / "note.txt").read_bytes() == b"kept\n"
        assert conn.take_unannounced() is board
        assert conn.take_unannounced() is None  # announced once
    finally:
        conn.close()
    assert conn.current is None and conn.board is None


def test_no_connection_state_kept_outside_the_record() -> None:
    """No per-board cache at module level in the files layer, no attribute set on a Board
    from outside, no surface writing the kernel's private announcement flag."""
    files = (ROOT / "board" / "filesystem.py").read_text()
    assert "WeakKeyDictionary" not in files
    for path in [*ROOT.glob("extension/*.py"), *ROOT.glob("magics/*.py"), ROOT / "kernel.py"]:
        text = path.read_text()
        assert "_panel_provenance" not in text and "._unannounced" not in text, path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    assert not (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id in ("board", "kernel")
                    ), f"{path.name} sets {target.value.id}.{target.attr}"


@pytest.mark.parametrize(
    ("exc", "ename", "message"),
    [
        (KeyboardInterrupt(), "KeyboardInterrupt", "Interrupted."),
        (CellRefused("no code"), "SyntaxError", "no code"),
        (UsageError("use it so"), "UsageError", "use it so"),
        (BoardError("gone"), "BoardError", "gone"),
        (FlashError("no chip"), "FlashError", "no chip"),
        (OperationError("failed"), "OperationError", "failed"),
    ],
)
def test_each_error_is_one_named_line(exc: BaseException, ename: str, message: str) -> None:
    failure = failure_of(exc, Connection())
    assert (failure.ename, failure.message) == (ename, message)
    assert not failure.internal and not failure.link_lost


def test_a_broken_link_forgets_the_board_and_a_bug_is_logged(tmp_path: Path) -> None:
    conn = Connection()
    conn.open("virtual", root=str(tmp_path))
    failure = failure_of(TransportError("the port vanished"), conn)
    assert (failure.ename, failure.message, failure.link_lost) == (
        "BoardError",
        "the port vanished",
        True,
    )
    assert conn.current is None
    bug = failure_of(ValueError("oops"), conn)
    assert bug.internal and bug.ename == "InternalError"
    assert bug.message == "mpkernel failed (ValueError: oops); see the log."


def test_cells_and_the_panel_share_the_mapping() -> None:
    for path in (ROOT / "kernel.py", ROOT / "extension" / "channel.py"):
        text = path.read_text()
        assert "failure_of(" in text and "except TransportError" not in text, path
