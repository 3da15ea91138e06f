"""Routing and magics in process (tests/inprocess.py): no kernel process, a real virtual board."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess import InProcess

from mpkernel.errors import UsageError


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[InProcess]:
    surface = InProcess()
    surface.connect_virtual(tmp_path / "board")
    yield surface
    surface.disconnect()


def test_routing_refuses_unknown_magics_and_bad_arguments_in_one_line() -> None:
    surface = InProcess()  # no board needed to route
    with pytest.raises(UsageError, match=r"^Unknown magic %nosuch: run %lsmagic"):
        surface.magic("%nosuch x")
    with pytest.raises(UsageError, match="unrecognized arguments: --bogus"):
        surface.magic("%ls --bogus")
    with pytest.raises(UsageError, match="check the quotes"):
        surface.magic("%cat 'unclosed")
    assert "List files on the board" in surface.magic("%ls -h")
    assert surface.board is None  # nothing of that connected a board


def test_put_ls_cat_through_the_magics(ctx: InProcess, tmp_path: Path) -> None:
    local = tmp_path / "hello.py"
    local.write_text("print('hi')\n")
    ctx.magic(f"%put {local} hello.py")
    assert (tmp_path / "board" / "hello.py").read_text() == "print('hi')\n"
    assert "hello.py" in ctx.magic("%ls").split()
    assert ctx.magic("%cat hello.py") == "print('hi')\n"
    with pytest.raises(UsageError, match="is binary"):
        (tmp_path / "board" / "blob.bin").write_bytes(b"\xff\xfe\x00")
        ctx.magic("%cat blob.bin")


def test_pull_and_push_use_the_host_namespace(ctx: InProcess) -> None:
    ctx.host.user_ns["table"] = {"a": [1, 2, 3], "b": "x" * 50}
    ctx.magic("%push table --as board_table")
    ctx.magic("%pull board_table --as back")
    assert ctx.host.user_ns["back"] == {"a": [1, 2, 3], "b": "x" * 50}
    with pytest.raises(UsageError, match="not defined on the board"):
        ctx.magic("%pull nothing_here")


def test_surfaces_take_the_narrow_context_not_the_kernel() -> None:
    root = Path(__file__).resolve().parent.parent / "mpkernel"
    for folder in ("magics", "widgets", "extension"):
        for path in (root / folder).glob("*.py"):
            assert "MicroPythonKernel" not in path.read_text(), path
