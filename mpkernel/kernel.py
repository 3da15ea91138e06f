"""The Jupyter kernel: routes each cell to magics, to the host's IPython, or to the board."""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ipykernel.ipkernel import IPythonKernel
from IPython.core.error import StdinNotImplementedError

from . import __version__
from .extension import BoardChannel
from .magics import MAGICS, host_body, run_magic_line
from .magics.connection import announce
from .services.connection import Connection
from .services.failures import failure_of
from .services.introspect import complete, inspect
from .services.secrets import HideWidgetState, webrepl_password
from .services.wifi import PASSWORD_HINT, password_in_code

if TYPE_CHECKING:
    from .services.connection import Board, CellResult
    from .services.context import HostShell

RED, RESET = "\x1b[31m", "\x1b[0m"
HOST_EXECUTE_SLEEP = 0.0005  # ipykernel's default
#: Characters of board output shown per cell before the rest is counted, not shown.
MAX_OUTPUT = int(os.environ.get("MPKERNEL_MAX_OUTPUT", 2_000_000))


class MicroPythonKernel(IPythonKernel):
    """Runs cells on a MicroPython board; `%%host` cells run in the kernel's own IPython."""

    implementation = "mpkernel"
    implementation_version = __version__
    banner = f"mpkernel {__version__}: Jupyter cells on MicroPython boards (%lsmagic for magics)"
    language_info = {  # noqa: RUF012  (the base class declares it as a plain dict)
        "name": "python",
        "version": "3.4",
        "mimetype": "text/x-python",
        "codemirror_mode": {"name": "ipython", "version": 3},
        "pygments_lexer": "ipython3",
        "file_extension": ".py",
        "nbconvert_exporter": "python",
    }
    help_links = [  # noqa: RUF012
        {"text": "MicroPython docs", "url": "https://docs.micropython.org/"},
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log.addFilter(HideWidgetState())  # no typed password in the log, at any level
        self.connection = Connection(
            notify=self._notify,
            ask_password=self._webrepl_password,
            on_auto_connect=lambda board: announce(self, board),
        )
        #: One-time hints already given by this kernel.
        self.hints_given: set[str] = set()
        #: Extra receivers of the current cell's board output (%capture, %%plot); reset per cell.
        self.taps: list[Callable[[str], None]] = []
        self.board_channel = BoardChannel(self)  # the extension's board panel talks to it
        self.board_channel.register(self.comm_manager)
        #: The last cell's request: what the board prints between cells is shown under it.
        self._last_parent: dict[str, Any] | None = None
        self._early: list[str] = []  # printed before any cell ran
        self.connection.idle.listeners.append(self._show_idle_output)
        self.connection.idle.listeners.append(self.board_channel.output)  # the panel's console
        self.connection.idle.start()
        if os.environ.get("MPKERNEL_PORT", "").strip():
            self._connect_at_start()

    # -- what frontends are told -------------------------------------------------------

    @property
    def kernel_info(self) -> dict[str, Any]:
        info = super().kernel_info
        # The debugger would debug this host process, not the board; subshells would let
        # widget callbacks race cells for the serial port.
        dropped = ("debugger", "kernel subshells")
        features = info.get("supported_features", [])
        info["supported_features"] = [f for f in features if f not in dropped]
        return info

    # -- output --------------------------------------------------------------------------

    def say(self, text: str, name: str = "stdout") -> None:
        """Show text in the current cell's output."""
        if text:
            self.send_response(self.iopub_socket, "stream", {"name": name, "text": text})

    def _error(self, ename: str, evalue: str, lines: list[str]) -> dict[str, Any]:
        content = {"ename": ename, "evalue": evalue, "traceback": lines}
        self.send_response(self.iopub_socket, "error", content)
        return {"status": "error", **content}

    def _one_line_error(self, ename: str, message: str) -> dict[str, Any]:
        return self._error(ename, message, [f"{RED}{message}{RESET}"])

    # -- the board -------------------------------------------------------------------------

    def _notify(self, text: str, error: bool = False) -> None:
        self.say(text, "stderr" if error else "stdout")

    def _webrepl_password(self) -> str:
        return webrepl_password(self.getpass)

    def _connect_at_start(self) -> None:
        """Connect now (MPKERNEL_PORT); the first cell announces it, so it is recorded."""
        if not self.connection.connect_at_start():
            self.log.error(
                "mpkernel: could not connect at start: %s", self.connection.startup_error
            )

    # The board and its lock belong to the connection; these name them for the surfaces.

    @property
    def host(self) -> HostShell:
        """The kernel's own IPython (the user namespace of %%host cells)."""
        shell = self.shell
        assert shell is not None, "the kernel's shell is made at start"
        return shell

    @property
    def board(self) -> Board | None:
        return self.connection.board

    @property
    def board_lock(self) -> threading.RLock:
        return self.connection.lock

    def require_board(self) -> Board:
        """The connected board; the first time, connect to the default one."""
        return self.connection.require()

    def disconnect(self) -> None:
        """Close the current board, if any."""
        self.connection.close()

    def hint_once(self, key: str, text: str) -> None:
        """Show a hint the first time this kernel meets `key`."""
        if key not in self.hints_given:
            self.hints_given.add(key)
            self.say(text, "stderr")

    # -- executing -------------------------------------------------------------------------

    async def do_execute(
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
        *,
        cell_meta: dict[str, Any] | None = None,
        cell_id: str | None = None,
    ) -> dict[str, Any]:
        body = host_body(code)
        self._start_cell(board=body is None)
        # ipykernel (6.29, 7.x) sleeps after each cell so that IPython's buffered stdout is
        # flushed before the reply; board output is sent directly, so board cells skip it.
        if hasattr(self, "_execute_sleep"):
            self._execute_sleep = HOST_EXECUTE_SLEEP if body is not None else 0.0
        if body is not None:
            return await super().do_execute(
                body, silent, store_history, user_expressions, allow_stdin,
                cell_meta=cell_meta, cell_id=cell_id,
            )  # fmt: skip
        shell = self.shell
        assert shell is not None, "the kernel's shell is made at start"
        count = shell.execution_count
        if store_history:
            shell.history_manager.store_inputs(count, code)
            shell.execution_count += 1
        self._allow_input(allow_stdin)
        self.taps = []
        self.board_channel.cell_started()
        try:
            reply = self._execute(code, count, silent)
        except (KeyboardInterrupt, Exception) as exc:  # each as one line (a bug: also logged)
            failure = failure_of(exc, self.connection)
            if failure.internal:
                self.log.error("mpkernel internal error:\n%s", traceback.format_exc())
            reply = self._one_line_error(failure.ename, failure.message)
        finally:
            restore = getattr(self, "_restore_input", None)
            if callable(restore):
                restore()
            self.taps = []
            self.board_channel.cell_finished()
        reply["execution_count"] = count
        reply.setdefault("user_expressions", {})
        reply.setdefault("payload", [])
        return reply

    def _allow_input(self, allow_stdin: bool) -> None:
        """Let this cell's password prompts use the stdin channel when the frontend allows.

        ipykernel 6.29 and 7.x do it in the private `_forward_input` (which also routes
        `%%host`'s input()); without it, the public getpass() still needs `_allow_stdin`.
        """
        forward = getattr(self, "_forward_input", None)
        if callable(forward):
            forward(allow_stdin)
        else:
            self._allow_stdin = allow_stdin

    # -- between cells -------------------------------------------------------------------

    def _show_idle_output(self, text: str) -> None:
        """What the board printed between cells, shown in the cell that ran last (as
        ipykernel shows a background thread's prints). Called from the reader thread."""
        parent = self._last_parent
        if parent is None:
            self._early.append(text)
            return
        content = {"name": "stdout", "text": text}
        assert self.session is not None, "the kernel's session is made at start"
        self.session.send(
            self.iopub_socket, "stream", content, parent=parent, ident=self._topic("stream")
        )

    def _start_cell(self, board: bool) -> None:
        """Hand what the board printed since the last cell to that cell; this one is next.
        A %%host cell leaves the board's link alone (the reader goes on meanwhile)."""
        dropped = 0
        try:
            if board:
                with self.board_lock:
                    dropped = self.connection.idle.catch_up()
        except KeyboardInterrupt:
            pass
        self._last_parent = self.get_parent("shell")
        early, self._early = "".join(self._early), []
        self.say(early)
        if dropped:
            self.say(
                f"[mpkernel: {dropped:,} more characters the board printed between cells "
                "were not shown (1 MB is kept per pause between cells).]\n",
                "stderr",
            )

    def _execute(self, code: str, count: int, silent: bool) -> dict[str, Any]:
        unannounced = self.connection.take_unannounced()
        if unannounced is not None:
            announce(self, unannounced)
        lines = code.lstrip("\n").split("\n")
        if lines and lines[0].lstrip().startswith("%%"):
            reply = run_magic_line(self, lines[0], "\n".join(lines[1:]))
            return reply if isinstance(reply, dict) and "status" in reply else {"status": "ok"}
        rest = 0
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith("%"):
                run_magic_line(self, stripped)
                rest = i + 1
            elif stripped and not stripped.startswith("#"):
                break
        board_code = "\n".join(lines[rest:])
        if not board_code.strip():
            return {"status": "ok"}
        if password_in_code(board_code):
            self.hint_once("wifi-password", PASSWORD_HINT)
        return self.run_on_board(board_code, count, silent)

    def run_on_board(self, code: str, count: int, silent: bool = False) -> dict[str, Any]:
        """Run cell code on the board, streaming its output; return the execute reply."""
        board = self.require_board()
        shown = 0
        hidden = 0

        def emit(text: str) -> None:
            nonlocal shown, hidden
            for tap in self.taps:
                tap(text)
            if silent:
                return
            if shown >= MAX_OUTPUT:
                hidden += len(text)
                return
            part = text[: MAX_OUTPUT - shown]
            shown += len(part)
            hidden += len(text) - len(part)
            self.say(part)

        with self.board_lock:
            self.connection.idle.flush()
            result = board.run_cell(code, emit, self._board_input)
        for notice in board.take_notices():  # e.g. a mount the board lost at a reset
            self.say(notice + "\n", "stderr")
        if hidden:
            self.say(
                f"\n[mpkernel: output truncated after {shown:,} characters; "
                f"{hidden:,} more were not shown. Set MPKERNEL_MAX_OUTPUT to change the limit.]\n",
                "stderr",
            )
        return self._reply_for(result, count, silent)

    def _board_input(self, prompt: str) -> str | None:
        """A line for the board's input() or sys.stdin, typed in the notebook (as IPython's
        input() asks); None where the frontend has no stdin (nbclient, papermill)."""
        try:
            return self.raw_input(prompt)
        except StdinNotImplementedError:
            return None

    def _reply_for(self, result: CellResult, count: int, silent: bool) -> dict[str, Any]:
        if result.reset:
            reset = (
                "The board reset during this cell (sys.exit(), machine.reset() or a crash): "
                "its variables are gone."
            )
            if not result.ename:
                return self._one_line_error("BoardReset", reset)
            self.say(reset + "\n", "stderr")
        if result.ename:
            lines = [*result.traceback[:-1], f"{RED}{result.traceback[-1]}{RESET}"]
            return self._error(result.ename, result.evalue, lines)
        if result.value is not None and not silent:
            self.send_response(
                self.iopub_socket,
                "execute_result",
                {"execution_count": count, "data": {"text/plain": result.value}, "metadata": {}},
            )
        return {"status": "ok"}

    # -- completion and inspection -----------------------------------------------------------

    async def do_complete(self, code: str, cursor_pos: int | None) -> dict[str, Any]:
        if cursor_pos is None:
            cursor_pos = len(code)
        if host_body(code) is not None:
            return super().do_complete(code, cursor_pos)
        line_start = code.rfind("\n", 0, cursor_pos) + 1
        line = code[line_start:cursor_pos]
        match = re.match(r"\s*(%\w*)$", line)
        if match:
            word = match.group(1)
            names = sorted(n for n in MAGICS if n.startswith(word) and not n.startswith("%%"))
            return _completion(names, cursor_pos - len(word), cursor_pos)
        if self.board is None:
            return _completion([], cursor_pos, cursor_pos)
        with self.board_lock:
            matches, start = complete(self.board, code[:cursor_pos])
        return _completion(matches, start, cursor_pos)

    async def do_inspect(
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: tuple = ()
    ) -> dict[str, Any]:
        if self.board is None or host_body(code) is not None:
            return super().do_inspect(code, cursor_pos, detail_level, omit_sections)
        with self.board_lock:
            text = inspect(self.board, code, cursor_pos)
        return {
            "status": "ok",
            "found": bool(text),
            "data": {"text/plain": text} if text else {},
            "metadata": {},
        }

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        self.connection.idle.stop()
        self.disconnect()
        return super().do_shutdown(restart)


def _completion(matches: list[str], start: int, end: int) -> dict[str, Any]:
    return {
        "status": "ok",
        "matches": matches,
        "cursor_start": start,
        "cursor_end": end,
        "metadata": {},
    }


class LoopbackNoWarning(logging.Filter):
    """Drops ipykernel 7's "running over TCP without encryption" warning where the kernel's
    sockets listen on this computer's loopback only (what Jupyter's kernel manager gives):
    no other computer sees that traffic, and every message is signed with the key in the
    connection file, which only this user can read."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def filter(self, record: logging.LogRecord) -> bool:
        loopback = str(getattr(self.app, "ip", "")) in ("127.0.0.1", "localhost", "::1")
        return not (loopback and str(record.msg).startswith("Kernel is running over TCP"))


def main() -> None:
    """Launch the kernel (what kernel.json runs)."""
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance(kernel_class=MicroPythonKernel)
    app.log.addFilter(LoopbackNoWarning(app))
    app.initialize()
    app.start()


if __name__ == "__main__":
    main()
    sys.exit(0)
