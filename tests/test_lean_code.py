"""lean_code: what a board without raw-paste is sent of a cell (issue 25): comments and
docstring text go, lines and everything that runs stay."""

from __future__ import annotations

import ast

from mpkernel.board.repl.lean_code import lean

CELL = b'''# Lesson 3: counting
x = 1  # the start
def f(a):
    """Adds one.

    Explained at length.
    """
    s = "# not a comment" + '#'
    return a + 1  # done
"""A bare string
over two lines"""
print(f(x), s, f"""{x}""")
y = ("a"  # first half
     "b")
if x: "kept: not a statement of its own line"
'''


def test_comments_and_docstrings_go_lines_and_code_stay() -> None:
    out = lean(CELL)
    assert b"Lesson" not in out and b"the start" not in out and b"done" not in out
    assert b"Explained" not in out and b"bare string" not in out and b"first half" not in out
    assert out.count(b"\n") == CELL.count(b"\n")  # tracebacks name the user's lines
    assert b'"# not a comment"' in out and b"'#'" in out and b'f"""{x}"""' in out
    assert b'("a"' in out and b"kept: not a statement" in out
    assert ast.dump(ast.parse(_no_docs(out))) == ast.dump(ast.parse(_no_docs(CELL)))
    assert len(out) < len(CELL) * 2 // 3


def _no_docs(code: bytes) -> str:
    """The code with every bare string statement emptied (what lean promises to keep)."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        bare = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if bare and isinstance(node.value.value, str):
            node.value.value = ""
    return ast.unparse(tree)


def test_code_python_cannot_read_goes_as_it_is() -> None:
    for code in (b"\xff = 1 # x\n", b"def f(:\n  # open\n", b's = """never closed\n'):
        assert lean(code) == code
    assert lean(b"x = 1\n") == b"x = 1\n"
