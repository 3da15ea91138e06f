"""One connected board: opening it, running cells, asking it questions, resetting it."""

from __future__ import annotations

import ast
import codecs
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BoardError
from .caps import Caps, probe
from .helpers import helper
from .links.browser_serial import BrowserSerialTransport
from .links.serial_transport import SerialTransport
from .links.transport import Transport, TransportError
from .links.virtual_link import VirtualTransport
from .links.webrepl import WebReplTransport, is_webrepl_url
from .mount import MOUNT_POINT, MountServer, install, stop_serving, uninstall
from .repl.cell import RESULT_MARK, prepare
from .repl.rawrepl import (
    HELPER_SILENCE,
    SMALL_CODE,
    ExecResult,
    RawRepl,
    ReplError,
    ResetSinceLastRun,
)
from .repl.run_end import partial_start
from .repl.stdin_relay import StdinRelay, may_read_stdin, rewrite
from .virtual.board import SIM_DIR

__all__ = ["Board", "BoardError", "BoardExecError", "CellResult"]


class BoardExecError(ReplError):
    """Helper code raised an exception on the board."""

    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__(f"{ename}: {evalue}" if evalue else ename)
        self.ename = ename
        self.evalue = evalue


_MARK = RESULT_MARK.encode()
#: Free heap after a collection. Helper code binds no name of the user's (`gc`, `os`...):
#: modules through __import__, or under a private `_mpk_` name deleted after.
HEAP_FREE = "_mpk_g = __import__('gc')\n_mpk_g.collect()\nprint(_mpk_g.mem_free())\ndel _mpk_g"
#: How long boot.py and main.py may run after a hard reset before a Ctrl-C stops them.
BOOT_WAIT = 3.0
NO_STDIN_MESSAGE = (
    "The board asked for input, but this frontend has no stdin (nbclient, papermill, "
    "nbconvert): set the value in the cell instead of reading it."
)


@dataclass
class CellResult:
    """The outcome of a cell run on the board."""

    value: str | None = None  # repr() of the last expression, if any
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)
    reset: bool = False


def parse_traceback(text: str) -> tuple[str, str, list[str]]:
    """Split a MicroPython traceback into (ename, evalue, lines).

    Frames inside the virtual board's own simulation (its filesystem, its firmware modules,
    files of this computer's mpkernel) are left out: a board shows only the user's lines.
    """
    lines = [
        line for line in text.replace("\r", "").split("\n")
        if line.strip() and not _simulation_frame(line)
    ]  # fmt: skip
    last = lines[-1] if lines else "Error"
    name, _, value = last.partition(":")
    if " " in name.strip() or not name.strip():
        name, value = "Error", last
    return name.strip(), value.strip(), lines


def _simulation_frame(line: str) -> bool:
    """A traceback line of a frame in the virtual board's simulation files (sim/)."""
    return line.lstrip().startswith(f'File "{SIM_DIR}/')


def boot_output(seen: bytes) -> str:
    """What boot.py/main.py printed, from the bytes seen while a board started up.

    Drops ROM noise (undecodable bytes), the firmware banner and the prompts.
    """
    text = seen.decode("utf-8", "replace").replace("\r", "")
    keep = []
    for line in text.split("\n"):
        if "\ufffd" in line or line.startswith(("MicroPython ", 'Type "help()"', ">>>")):
            continue
        if "raw REPL; CTRL-B" in line or line.strip() in ("", ">"):
            continue
        keep.append(line)
    return "\n".join(keep) + ("\n" if keep else "")


class TextStream:
    """Bytes from the board to text for the notebook: UTF-8 across chunk edges, \\r\\n -> \\n."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._emit = emit
        self._cr = False

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final)
        if self._cr:
            text = "\r" + text
        self._cr = text.endswith("\r") and not final
        if self._cr:
            text = text[:-1]
        text = text.replace("\r\n", "\n")
        if text:
            self._emit(text)


class _ValueSplitter:
    """Passes stdout on, keeping back what follows RESULT_MARK (the cell's value)."""

    def __init__(self, out: Callable[[bytes], None]) -> None:
        self.out = out
        self.buf = bytearray()
        self.value: bytearray | None = None

    def feed(self, data: bytes) -> None:
        if self.value is not None:
            self.value += data
            return
        self.buf += data
        idx = self.buf.find(_MARK)
        if idx >= 0:
            self.value = self.buf[idx + len(_MARK) :]
            del self.buf[idx:]
            self._flush(idx)
            return
        self._flush(len(self.buf) - partial_start(self.buf, _MARK))

    def _flush(self, upto: int) -> None:
        """Pass on the first `upto` bytes, taking them out first: if `out` is interrupted
        (the stop button during a slow tap), they are not passed on a second time."""
        if upto > 0:
            chunk = bytes(self.buf[:upto])
            del self.buf[:upto]
            self.out(chunk)

    def finish(self) -> None:
        if self.value is None:
            self._flush(len(self.buf))


class Board:
    """A connected board: its transport, its raw REPL, its caps and how cells are sent.

    Link differences (resets that drop a WebREPL socket, the virtual board's reset button)
    belong to the transport; file transfers go through a channel chosen once (filesystem).
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.repl = RawRepl(transport)
        self.notices: list[str] = []
        self._caps: Caps | None = None
        #: The folder on this computer mounted at MOUNT_POINT (%mount), if any.
        self.mount: MountServer | None = None

    @classmethod
    def open(
        cls,
        target: str,
        baudrate: int = 115200,
        root: str | Path | None = None,
        password: str | Callable[[], str] | None = None,
    ) -> Board:
        """Open a board: "virtual" starts the built-in virtual board, "browser" is the board
        the page opened with Web Serial (the browser link), ws://HOST[:PORT] is a
        WebREPL (needs `password`, or a function called when the board asks), anything else
        is a port."""
        transport: Transport
        if is_webrepl_url(target):
            transport = WebReplTransport(target, password or "")
        elif target == "virtual":
            transport = VirtualTransport(root=root, baudrate=baudrate)
        elif target == "browser":
            transport = BrowserSerialTransport.for_this_kernel(baudrate)
        else:
            transport = SerialTransport(target, baudrate)
        board = cls(transport)
        try:
            seen = board.repl.enter()
            board.probe()
        except BaseException:
            board.close(leave=False)
            raise
        if board.repl.cut_put:
            board.notices.append(
                "A file transfer cut off earlier (the link went during a put) was still "
                "waiting on the board: it was stopped, the file left as it was."
            )
        elif b"Traceback" in seen or b"KeyboardInterrupt" in seen:
            board.notices.append(
                "A program was running on the board (main.py?); Ctrl-C stopped it."
            )
        return board

    def probe(self) -> Caps:
        """Ask the board what it can do (once per connection) and set how cells are sent:
        on a tiny heap every cell goes by raw-paste, which compiles as the code streams in."""
        self._caps = probe(self)
        self.repl.small_code = 0 if self._caps.tiny else SMALL_CODE
        return self._caps

    def take_notices(self) -> list[str]:
        """What the board has to tell the user (a program stopped at connect, a mount it
        lost at a reset) since it was last asked."""
        notices, self.notices = self.notices, []
        return notices

    @property
    def caps(self) -> Caps:
        """What the board can do, as probed when it was opened."""
        return self._caps if self._caps is not None else self.probe()

    @property
    def kind(self) -> str:
        """ "serial", "virtual", "webrepl" or "browser-serial": for display and provenance."""
        return self.transport.kind

    @property
    def name(self) -> str:
        return self.transport.name

    # -- running code --------------------------------------------------------------

    def run_cell(
        self,
        code: str,
        emit: Callable[[str], None],
        ask: Callable[[str], str | None] | None = None,
    ) -> CellResult:
        """Run a notebook cell; `emit` receives its printed text as it arrives.

        `ask(prompt)` answers the cell's input() and sys.stdin reads with a line typed in the
        notebook (None, or no `ask`: there is no stdin, and the cell ends with StdinRefused).
        """
        to_send, _ = prepare(code)
        text = TextStream(emit)
        values = _ValueSplitter(text.feed)
        relay = None
        if may_read_stdin(to_send):
            to_send = rewrite(to_send)
            self._install_stdin()
            relay = StdinRelay(
                values.feed, ask or (lambda _: None), self.transport.write, self.transport.echoes
            )
        try:
            res: ExecResult = self.repl.exec(to_send, relay.feed if relay else values.feed)
        except ResetSinceLastRun as exc:
            self.remount()
            return CellResult(ename="BoardReset", evalue=str(exc), traceback=[str(exc)])
        except TransportError:
            # sys.exit() or machine.soft_reset() over WebREPL: the board drops the socket.
            if not self.transport.dropped_at_reset():
                raise
            self.reconnect()
            res = ExecResult(reset=True)
        if res.reset:
            self.remount()
        if relay is not None:
            relay.finish()
        values.finish()
        if res.reset_output:  # atexit callbacks and boot.py, as a board's terminal shows them
            text.feed(res.reset_output)
        text.feed(b"", final=True)
        result = CellResult(reset=res.reset)
        if res.error:
            result.ename, result.evalue, result.traceback = parse_traceback(res.error)
            if relay is not None and relay.refused and result.ename == "EOFError":
                result.ename, result.evalue = "StdinRefused", NO_STDIN_MESSAGE
                result.traceback = [f"{result.ename}: {result.evalue}"]
        elif values.value is not None:
            result.value = values.value.decode("utf-8", "replace")
        return result

    def _install_stdin(self) -> None:
        """Put input() and _mpk_stdin on the board (helpers/stdin.py), or empty the line
        an earlier cell left half read: each cell reads its own lines."""
        try:
            self.exec_capture("_mpk_stdin.b=''")
        except BoardExecError:  # not there yet (a new connection, a reset)
            self.exec_capture(helper("stdin"))

    def exec_capture(self, code: str) -> str:
        """Run helper code and return what it printed; raise BoardExecError if it failed,
        ReplError if the board stops answering for HELPER_SILENCE seconds."""
        out = bytearray()
        res = self.repl.exec(code, out.extend, silence=HELPER_SILENCE)
        if res.interrupted:
            raise KeyboardInterrupt  # the stop button, not the helper's own failure
        if res.error:
            ename, evalue, _ = parse_traceback(res.error)
            raise BoardExecError(ename, evalue)
        return out.decode("utf-8", "replace")

    def exec_value(self, code: str) -> object:
        """Run helper code that prints one repr() and read it back as a Python value.

        Raises BoardExecError if the code failed, ReplError if what it printed is no literal.
        """
        text = self.exec_capture(code).strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise ReplError(f"Unexpected answer from the board: {text[:80]!r}") from None

    def eval_literal(self, expr: str) -> object:
        """Evaluate an expression on the board and read its repr() back as a Python value."""
        return self.exec_value(f"print(repr({expr}))")

    def free_heap(self) -> int:
        """Bytes of free heap on the board after a collection (gc.mem_free())."""
        return int(self.exec_capture(HEAP_FREE).strip())

    # -- a folder of this computer mounted on the board ----------------------------------

    def mount_folder(self, folder: str | Path) -> MountServer:
        """Mount a folder of this computer at MOUNT_POINT and make it the current folder
        (replacing one mounted before). MountError if the board cannot mount."""
        if self.mount is not None:
            self.unmount()
        server = MountServer(folder, self.transport.write, self.transport.stdin_chunk)
        install(self, server)
        self.mount = server
        return server

    def unmount(self) -> MountServer | None:
        """Unmount the folder mounted by mount_folder, if any; the one that was mounted."""
        server, self.mount = self.mount, None
        if server is not None:
            uninstall(self, server)
        return server

    def remount(self) -> None:
        """After a reset the board forgot the mount: mount the same folder again."""
        server = self.mount
        if server is None:
            return
        stop_serving(self, server)  # files the program had open are gone with it
        try:
            install(self, server)  # serves again, or stops serving if it fails
        except BoardError as exc:
            self.mount = None
            self.notices.append(f"The folder {server.root} is no longer mounted: {exc}")

    def mount_path(self, path: str) -> str | None:
        """Where a board path lies in the mounted folder ("/a/b", relative to it), or None
        if it lies outside (a relative path: in the board's current folder)."""
        if self.mount is None:
            return None
        if not path.startswith("/"):
            cwd = self.exec_capture("print(__import__('os').getcwd())").strip()
            path = cwd.rstrip("/") + "/" + path
        if path == MOUNT_POINT or path.startswith(MOUNT_POINT + "/"):
            return path[len(MOUNT_POINT) :] or "/"
        return None

    # -- resets and closing ------------------------------------------------------------

    def soft_reset(self) -> str:
        """Soft reset: variables are gone, boot.py runs; return what boot.py printed."""
        try:
            text = self.repl.soft_reset()
        except TransportError:
            # A link that ends at a reset (WebREPL: boot.py starts it again) is reopened.
            self.repl.in_raw = False
            if not self.transport.reopen(hard=False):
                raise
            self.repl.enter(timeout=8.0)
            self.remount()
            return f"The link closed at the reset: reconnected to {self.name}.\n"
        self.remount()
        return text.decode("utf-8", "replace").replace("\r\n", "\n")

    def reconnect(self) -> None:
        """Open the link again after the board dropped it at a reset, raw REPL again."""
        self.repl.in_raw = False
        self.transport.reopen(hard=False)
        self.repl.enter(timeout=8.0)

    def hard_reset(self) -> str:
        """Reset the chip (reset button, DTR/RTS, or machine.reset()) and re-enter the REPL.

        Returns what the board printed while it started (boot.py and main.py output).
        """
        if not self.transport.hard_reset():
            with contextlib.suppress(BoardError):
                self.repl.send(b"import machine\nmachine.reset()\n")
        self.repl.in_raw = False  # the board restarts in its friendly REPL
        seen = b""
        if not self.transport.reopen(hard=True):
            # boot.py and main.py run to their end (the friendly prompt) before the Ctrl-C
            # that enters the raw REPL; a main.py that runs on is interrupted after BOOT_WAIT.
            seen = self.repl.read_until_prompt(BOOT_WAIT)
        seen += self.repl.enter(timeout=8.0)
        self.remount()
        return boot_output(seen)

    def close(self, leave: bool = True) -> None:
        """Leave the board in its friendly REPL and release the link."""
        server, self.mount = self.mount, None
        if server is not None and leave:  # a board left with a mount nobody serves would hang
            with contextlib.suppress(BoardError):
                uninstall(self, server)  # stops serving, whether or not the board answers
        elif server is not None:
            stop_serving(self, server)
        if leave:
            with contextlib.suppress(BoardError):
                self.repl.leave()
        self.transport.release()
