"""Host and board in one notebook: %host %pull %push %capture %%plot."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..services.connection import BoardExecError
from ..services.transfer import (
    NotDefined,
    TransferError,
    check_pushable,
    parse_pulled,
    pull_code,
    push,
)
from .registry import arg, magic

if TYPE_CHECKING:
    from ..services.context import Context

#: What to do when %%plot misses matplotlib or pandas.
PLOT_EXTRA = "install matplotlib and pandas: pip install matplotlib pandas"
#: Pushes bigger than this show a progress bar.
PROGRESS_FROM = 16 * 1024


def _check_names(names: list[str], target: str | None, where: str) -> None:
    for name in [*names, *([target] if target else [])]:
        if not name.isidentifier():
            raise UsageError(f"{name!r} is not a variable name ({where}).")
    if target and len(names) != 1:
        raise UsageError("--as renames one variable: give a single NAME with --as.")


@magic("host", cell=True, on_host=True)
def host_cell_magic(kernel: Context, args: argparse.Namespace, body: str) -> None:
    """Run the cell in Python on this computer, not the board.

    The kernel gives the cell's body to its own IPython (see kernel.do_execute).
    """


@magic("host", raw=True)
@arg("code", nargs=argparse.REMAINDER, help="one line of Python for the host")
def host_magic(kernel: Context, line: str) -> None:
    """Run one line of Python on the host (this computer), like a one-line %%host cell.

    Example: %host df.plot()   (then the rest of the cell, if any, runs on the board)
    """
    code = line.strip()
    if not code:
        raise UsageError("Give a line of Python: %host print(x)")
    result = kernel.host.run_cell(code, store_history=False, silent=False)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if not result.success:
        exc = result.error_in_exec or result.error_before_exec
        name = type(exc).__name__ if exc is not None else "an error"
        raise UsageError(f"%host: the host code raised {name} (traceback above).")


@magic("pull")
@arg("names", nargs="+", metavar="NAME", help="variables on the board")
@arg("--as", dest="target", metavar="HOSTNAME", help="name on the host (one NAME only)")
def pull_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Copy board variables to the host (%%host cells): numbers, str, bytes, lists, dicts...

    Values travel piece by piece, so big lists fit through small boards.
    Example: %pull readings   |   %pull data --as board_data
    """
    _check_names(args.names, args.target, "%pull")
    board = kernel.require_board()
    values: dict[str, Any] = {}
    for name in args.names:
        with kernel.board_lock:
            try:
                text = board.exec_capture(pull_code(name))
            except BoardExecError as exc:
                raise TransferError(f"Reading {name} failed on the board: {exc}") from None
        try:
            values[args.target or name] = parse_pulled(text, name)
        except NotDefined:
            raise UsageError(f"{name} is not defined on the board.") from None
    kernel.host.user_ns.update(values)
    kernel.say(
        "Pulled "
        + ", ".join(
            f"{n} ({type(v).__name__}{_length(v)})" + (f" as {args.target}" if args.target else "")
            for n, v in zip(args.names, values.values(), strict=True)
        )
        + "\n"
    )


def _length(value: Any) -> str:
    if isinstance(value, str):
        return f", {len(value):,} chars"
    if isinstance(value, (bytes, bytearray)):
        return f", {len(value):,} bytes"
    if isinstance(value, (list, tuple, dict, set)):
        return f", {len(value):,} items"
    return ""


def _free_heap(kernel: Context) -> int | None:
    board = kernel.require_board()
    with kernel.board_lock:
        try:
            return board.free_heap()
        except (BoardExecError, ValueError):
            return None


@magic("push")
@arg("names", nargs="+", metavar="NAME", help="variables on the host (%%host cells)")
@arg("--as", dest="target", metavar="BOARDNAME", help="name on the board (one NAME only)")
def push_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Copy host variables to the board: numbers, str, bytes, lists, tuples, dicts, sets.

    Refuses what the board cannot hold (other types; more than its free heap).
    Example: %push table   |   %push samples --as data
    """
    _check_names(args.names, args.target, "%push")
    ns = kernel.host.user_ns
    for name in args.names:
        if name not in ns:
            raise UsageError(f"{name} is not defined on the host (define it in a %%host cell).")
    board = kernel.require_board()
    for name in args.names:
        target = args.target or name
        value = ns[name]
        free = _free_heap(kernel)
        progress = None

        def show(done: int, total: int, label: str = f"push {name}") -> None:
            nonlocal progress
            if progress is None and total >= PROGRESS_FROM:
                from ..widgets.progress import Progress

                progress = Progress(label, total)
            if progress is not None:
                progress.update(done)

        def exec_code(code: str) -> str:
            with kernel.board_lock:
                return board.exec_capture(code)

        try:
            check_pushable(value, name)
            sent = push(exec_code, value, target, show, free)
        except BoardExecError as exc:
            if progress is not None:
                progress.finish(ok=False, summary=f"push {name}: failed")
            if exc.ename == "MemoryError":
                raise TransferError(
                    f"The board ran out of memory receiving {name}: send a smaller part."
                ) from None
            raise TransferError(f"Sending {name} failed on the board: {exc}") from None
        if progress is not None:
            progress.finish()
        suffix = f" as {target}" if target != name else ""
        kernel.say(f"Pushed {name}{suffix} ({type(value).__name__}, {sent:,} bytes of code)\n")


@magic("capture")
@arg("name", metavar="NAME", help="host variable that receives the cell's board output")
def capture_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Keep this cell's board output (text) in a host variable; output is still shown.

    Put it on its own line at the top of a board cell:  %capture out
    """
    if not args.name.isidentifier():
        raise UsageError(f"{args.name!r} is not a variable name.")
    ns = kernel.host.user_ns
    name = args.name
    ns[name] = ""
    parts: list[str] = []

    def tap(text: str) -> None:
        parts.append(text)
        if len(parts) > 64:
            parts[:] = ["".join(parts)]
        ns[name] = "".join(parts)

    kernel.taps.append(tap)


@magic("plot", cell=True)
@arg("--window", type=int, default=0, metavar="N", help="live plot shows the last N points")
@arg("--x", choices=("index", "time"), default="index", help="x axis: sample number or seconds")
def plot_magic(kernel: Context, args: argparse.Namespace, body: str) -> dict[str, Any]:
    """Run the cell on the board and plot, live, the numbers it prints; data goes to _plot.

    Lines of numbers ("1.5, 3" or "1.5 3") give one series per column; name=value pairs
    ("t=1.5 v=3.2") give named series. Other lines are shown as usual. When the cell ends
    (or is stopped), the data is in the host variable _plot (a pandas DataFrame if pandas
    is installed, else a dict of lists) and the final plot stays in the output.
    """
    from ..widgets.plot import LivePlot

    if args.window < 0:
        raise UsageError("--window must be a positive number of points.")
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"%%plot needs matplotlib: {PLOT_EXTRA}")
    live = LivePlot(kernel, window=args.window, x=args.x)
    kernel.taps.append(live.feed)
    try:
        # The board's error (or the stop button's KeyboardInterrupt) is the cell's.
        return kernel.run_on_board(body, kernel.host.execution_count - 1, silent=True)
    finally:
        if live.feed in kernel.taps:
            kernel.taps.remove(live.feed)
        kernel.host.user_ns["_plot"] = live.data()
        if isinstance(kernel.host.user_ns["_plot"], dict):
            kernel.say(f"_plot is a dict of lists; for a DataFrame, {PLOT_EXTRA}\n", "stderr")
        live.finish()
