"""Fast tests of the pure parts: no board, no kernel (each runs in milliseconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mpkernel.board.channel import ERRNO_TEXT, FileError, errno_of, file_error
from mpkernel.board.helpers import helper, helper_call
from mpkernel.board.repl.cell import RESULT_MARK, prepare
from mpkernel.board.session import (
    BoardExecError,
    TextStream,
    _ValueSplitter,
    boot_output,
    parse_traceback,
)
from mpkernel.errors import BoardError, OperationError, UsageError
from mpkernel.flash.esp import FlashError
from mpkernel.flash.identity import FlashChip
from mpkernel.magics.registry import host_body
from mpkernel.services.connection import choose_port

MARK = RESULT_MARK.encode()


# -- prepare: a cell's last expression shows its value ----------------------------------------


def test_prepare_wraps_the_last_expression() -> None:
    code, shows = prepare("x = 1\nx + 1")
    assert shows
    assert code.startswith("x = 1\n_=(x + 1)\n")
    assert repr(RESULT_MARK) in code


def test_prepare_leaves_statements_semicolons_and_syntax_errors() -> None:
    for cell in ("x = 1", "x + 1;", "x + 1 ;  # quiet", "def f(:\n  pass", "", "# only\n"):
        assert prepare(cell) == (cell, False), cell


def test_prepare_sends_a_last_print_as_it_is() -> None:
    for cell in ("print(1)", "x = 2\nprint(x, end='')", "for i in (1, 2):\n    pass\nprint(i)"):
        assert prepare(cell) == (cell, False), cell
    code, shows = prepare("p = print\np(1)")  # not known to be print: its value may show
    assert shows and "_=(p(1))" in code


def test_prepare_keeps_line_numbers_and_handles_multiline_and_unicode() -> None:
    code, shows = prepare("a = 'é'\n(a +\n 'ü')")
    assert shows and code.count("\n") >= 2
    assert code.split("\n")[0] == "a = 'é'"
    assert "_=((a +\n 'ü'))" in code


# -- the value splitter and TextStream ---------------------------------------------------------


def _split(chunks: list[bytes]) -> tuple[bytes, bytes | None]:
    out = bytearray()
    splitter = _ValueSplitter(out.extend)
    for chunk in chunks:
        splitter.feed(chunk)
    splitter.finish()
    return bytes(out), None if splitter.value is None else bytes(splitter.value)


def test_value_splitter_keeps_the_value_apart_even_across_chunk_edges() -> None:
    whole = b"printed\n" + MARK + b"42"
    for cut in range(1, len(whole)):
        assert _split([whole[:cut], whole[cut:]]) == (b"printed\n", b"42"), cut


def test_value_splitter_passes_text_that_only_looks_like_the_mark_start() -> None:
    assert _split([b"abc" + MARK[:3]]) == (b"abc" + MARK[:3], None)
    assert _split([b"no value at all"]) == (b"no value at all", None)


def test_text_stream_decodes_utf8_across_chunks_and_folds_crlf() -> None:
    seen: list[str] = []
    stream = TextStream(seen.append)
    data = "é\r\nü\r".encode()
    for i in range(len(data)):
        stream.feed(data[i : i + 1])
    stream.feed(b"", final=True)
    assert "".join(seen) == "é\nü\r"


def test_text_stream_replaces_invalid_bytes() -> None:
    seen: list[str] = []
    stream = TextStream(seen.append)
    stream.feed(b"\xff ok", final=True)
    assert "".join(seen) == "\ufffd ok"


# -- tracebacks, boot output, errno -------------------------------------------------------------


def test_parse_traceback() -> None:
    text = (
        'Traceback (most recent call last):\r\n  File "<stdin>", line 1\r\n'
        "ZeroDivisionError: divide by zero\r\n"
    )
    ename, evalue, lines = parse_traceback(text)
    assert (ename, evalue) == ("ZeroDivisionError", "divide by zero")
    assert lines[0].startswith("Traceback") and len(lines) == 3
    assert parse_traceback("KeyboardInterrupt:")[:2] == ("KeyboardInterrupt", "")
    assert parse_traceback("something odd happened")[:2] == ("Error", "something odd happened")
    assert parse_traceback("")[:2] == ("Error", "")


def test_boot_output_drops_banner_prompts_and_rom_noise() -> None:
    seen = b"\xff\xfe junk\r\nhello from boot\r\nMicroPython v1.22 on x\r\n>>> \r\n"
    assert boot_output(seen) == "hello from boot\n"


def test_errno_mapping() -> None:
    assert errno_of("OSError", "[Errno 2] ENOENT") == 2
    assert errno_of("OSError", "28") == 28
    assert errno_of("OSError", "EROFS") == 30
    assert errno_of("ValueError", "[Errno 2] ENOENT") is None
    assert errno_of("OSError", "something else") is None
    err = file_error(BoardExecError("OSError", "[Errno 2] ENOENT"), "a.txt")
    assert isinstance(err, FileError) and str(err) == f"a.txt: {ERRNO_TEXT[2]}."
    assert "out of memory" in str(file_error(BoardExecError("MemoryError", ""), "b"))
    assert str(file_error(BoardExecError("ValueError", "bad"), "c")) == "c: ValueError: bad"


# -- the error hierarchy -------------------------------------------------------------------------


def test_errors_are_usage_or_named_operation_errors() -> None:
    assert issubclass(BoardExecError, BoardError) and issubclass(BoardError, OperationError)
    assert issubclass(FileError, OperationError) and issubclass(FlashError, OperationError)
    assert not issubclass(OperationError, UsageError)
    with pytest.raises(BoardError):
        raise BoardExecError("OSError", "x")


# -- flash ids, helpers, magics, ports -----------------------------------------------------------


def test_flash_id_decoding_of_sizes_and_unknown_parts() -> None:
    assert FlashChip(0x1840EF).size == 16 * 1024 * 1024
    assert FlashChip(0x1440E0).part == "BG25Q80A"
    unknown = FlashChip(0x0000AA)
    assert unknown.part is None and unknown.size is None


def test_helpers_are_minified_and_called_then_deleted() -> None:
    source = helper("fs_hash")
    assert not any(line.lstrip().startswith("#") for line in source.splitlines())
    assert " h = hashlib.sha256()" in source.splitlines()  # one space per indent level
    call = helper_call("fs_hash", "_mpk_hash('x')")
    assert call.startswith(source) and call.endswith("finally:\n del _mpk_hash\n")


def test_host_body_finds_host_cells_only() -> None:
    assert host_body("%%host\nprint(1)") == "print(1)"
    assert host_body("\n  %%host\n") == ""
    assert host_body("%host print(1)") is None
    assert host_body("%%writefile x\n1") is None
    assert host_body("print(1)") is None


def test_choose_port_prefers_what_was_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_port("/dev/ttyUSB7") == "/dev/ttyUSB7"
    monkeypatch.setenv("MPKERNEL_PORT", "virtual")
    assert choose_port() == "virtual"


# -- the file channels' one put call --------------------------------------------------------------


def test_a_put_is_one_channel_call_with_no_state_kept_between_calls() -> None:
    """FileChannel's put is one call (a PutRequest in, a PutOutcome out): no hooks to call in
    order, and no channel keeps a result in an attribute set outside __init__ (or reads one
    back with getattr) for a later call to take."""
    import ast
    import inspect
    from pathlib import Path

    from mpkernel.board import channel, stream_files, webrepl_files

    public = {n for n, v in vars(channel.FileChannel).items() if callable(v) and n[0] != "_"}
    assert public == {"put", "receive", "run", "temp_name"}
    for module in (channel, stream_files, webrepl_files):
        tree = ast.parse(Path(inspect.getfile(module)).read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef) or fn.name == "__init__":
                continue
            for node in ast.walk(fn):
                targets = node.targets if isinstance(node, ast.Assign) else []
                if isinstance(node, ast.AnnAssign):
                    targets = [node.target]
                for t in targets:
                    for leaf in ast.walk(t):
                        assert not (
                            isinstance(leaf, ast.Attribute)
                            and isinstance(leaf.value, ast.Name)
                            and leaf.value.id == "self"
                        ), f"{module.__name__}.{fn.name} sets self.{leaf.attr}"
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr":
                    first = node.args[0]
                    assert not (isinstance(first, ast.Name) and first.id == "self"), fn.name


#: Board helpers whose names stay defined on the board between commands (a mount, the long-
#: cell delivery, input()); every other helper runs in the cell's namespace and deletes what
#: it made.
LASTING_HELPERS = ("mount", "cell_pieces", "stdin")


def test_no_passing_helper_touches_a_lasting_helpers_names() -> None:
    """A helper that sets and deletes `_mpk_s` would delete the mount's function of that name
    (seen: %ls in a mounted folder then failed with "'NoneType' object isn't callable")."""
    import re
    from pathlib import Path

    import mpkernel.board.helpers as helpers

    folder = Path(helpers.__file__).parent
    names = re.compile(r"\b_mpk_\w+")
    lasting: dict[str, set[str]] = {}
    for name in LASTING_HELPERS:
        lasting[name] = set(names.findall((folder / f"{name}.py").read_text()))
    others = [p for p in folder.glob("*.py") if p.stem not in (*LASTING_HELPERS, "__init__")]
    assert len(others) > 20
    for path in others:
        used = set(names.findall(path.read_text()))
        for name, theirs in lasting.items():
            assert not used & theirs, f"{path.name} uses {sorted(used & theirs)} of {name}.py"
    shared = set.intersection(*lasting.values())
    assert not shared, f"lasting helpers share {sorted(shared)}"


def test_helpers_bind_no_name_of_the_users() -> None:
    """Helpers run in the cell's namespace: every name one binds at its top level (imports
    included) is `_mpk_`-prefixed, so a user's `os = 5` stays 5 after %ls. stdin.py's
    input() replaces the built-in on purpose."""
    import ast
    from pathlib import Path

    import mpkernel.board.helpers as helpers

    def top_level(nodes: list[ast.stmt]) -> Iterator[ast.stmt]:
        for node in nodes:  # into try/if/for/while blocks, not into functions or classes
            yield node
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                for field in ("body", "orelse", "finalbody"):
                    yield from top_level(getattr(node, field, []))
                for handler in getattr(node, "handlers", []):
                    yield from top_level(handler.body)

    bound = []
    for path in Path(helpers.__file__).parent.glob("*.py"):
        if path.stem == "__init__":
            continue
        for node in top_level(ast.parse(path.read_text()).body):
            names: list[str] = []
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.asname or a.name.split(".")[0] for a in node.names]
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.For)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            bound += [f"{path.name}: {n}" for n in names if not n.startswith("_mpk_")]
    assert bound == ["stdin.py: input"], bound
