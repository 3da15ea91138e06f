"""input() and sys.stdin on the board, through the kernel: asked in the notebook like IPython
asks, or ended with one line where the frontend has no stdin (nbclient, papermill)."""

from __future__ import annotations

import threading
from typing import Any

import nbformat
from conftest import run
from jupyter_client.blocking.client import BlockingKernelClient
from nbclient import NotebookClient


def answering(kc: BlockingKernelClient, answers: list[str], prompts: list[str]) -> Any:
    """A stdin hook that answers each input_request with the next answer, noting prompts."""

    def hook(msg: dict[str, Any]) -> None:
        prompts.append(msg["content"]["prompt"])
        kc.input(answers.pop(0))

    return hook


def test_input_is_asked_in_the_notebook(kc: BlockingKernelClient) -> None:
    prompts: list[str] = []
    hook = answering(kc, ["Ada", "wörld \x03ok"], prompts)
    r = run(
        kc,
        "name = input('Your name? ')\nprint('Hello,', name)\nprint(repr(input()))\nlen(name)",
        stdin_hook=hook,
        allow_stdin=True,
    )
    assert r.status == "ok", r.text
    assert prompts == ["Your name? ", ""]
    # The prompt is shown once (by the frontend), and the virtual board's echo not at all;
    # a control character typed would interrupt the board: it is not sent.
    assert r.stdout == "Hello, Ada\n'w\\xf6rld ok'\n"
    assert r.result == "3"
    assert run(kc, "print(2)").stdout == "2\n"


def test_sys_stdin_read_and_readline(kc: BlockingKernelClient) -> None:
    prompts: list[str] = []
    hook = answering(kc, ["abcdef", "second line"], prompts)
    code = "import sys\na = sys.stdin.read(3)\nb = sys.stdin.read(5)\n"
    code += "print([a, b, sys.stdin.readline()])"
    r = run(kc, code, stdin_hook=hook, allow_stdin=True)
    assert r.status == "ok", r.text
    assert r.stdout == "['abc', 'def\\ns', 'econd line\\n']\n"
    assert prompts == ["", ""]
    # What a cell left unread is not read by the next one: it asks again.
    hook = answering(kc, ["xyz"], prompts)
    r = run(kc, "import sys\nprint(sys.stdin.read(1))", stdin_hook=hook, allow_stdin=True)
    assert r.stdout == "x\n"
    assert run(kc, "print(2)").stdout == "2\n"


def test_stop_button_while_the_board_waits_for_input(kernel: Any) -> None:
    km, kc = kernel
    asked = threading.Event()

    def hook(msg: dict[str, Any]) -> None:
        asked.set()
        km.interrupt_kernel()  # the user presses stop instead of typing

    r = run(kc, "x = 5\ninput('never answered: ')", stdin_hook=hook, allow_stdin=True)
    assert asked.is_set()
    assert r.status == "error" and r.reply["ename"] == "KeyboardInterrupt", r.text
    assert run(kc, "print(x * 2)").stdout == "10\n"


def test_no_stdin_ends_the_cell_with_one_line(kc: BlockingKernelClient) -> None:
    r = run(kc, "v = input('Value? ')\nprint('not reached')", allow_stdin=False)
    assert r.status == "error"
    assert r.error is not None and r.error["ename"] == "StdinRefused"
    assert len(r.error["traceback"]) == 1 and "no stdin" in r.error["evalue"]
    assert "not reached" not in r.text and "^^" not in r.text
    assert run(kc, "print(2)").stdout == "2\n"


def test_nbclient_gets_the_one_line_message() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%connect virtual"),
        nbformat.v4.new_code_cell("import sys\ndata = sys.stdin.read(4)"),
        nbformat.v4.new_code_cell("print(2)"),
    ]
    NotebookClient(nb, timeout=60, kernel_name="micropython", allow_errors=True).execute()
    error = nb.cells[1].outputs[-1]
    assert error["output_type"] == "error" and error["ename"] == "StdinRefused"
    assert "this frontend has no stdin" in error["evalue"]
    # The kernel streams what arrives as it arrives ("2", then the line end, if the board's
    # bytes come in two reads): the notebook shows the stream outputs one after the other.
    shown = "".join(o["text"] for o in nb.cells[2].outputs if o["output_type"] == "stream")
    assert shown == "2\n"
