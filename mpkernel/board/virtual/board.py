"""The virtual board: a real MicroPython (the unix port) behind a pseudo-terminal.

It runs as its own process (`python -m mpkernel.board.virtual.board`) that owns two PTYs:
the MicroPython child sits on one as its controlling terminal, and the other one's
slave path is the "serial port" that the kernel (or mpremote, or a terminal) opens,
exactly as it would open /dev/ttyUSB0. A relay between the two makes the unix port
behave like a board on a UART:

- Ctrl-C (0x03) interrupts running code as a board's UART does: while MicroPython runs
  code (it has its SIGINT handler installed) the relay takes the byte out of the input
  and signals the child, once it waits in a system call where it can (the unix port
  raises KeyboardInterrupt wherever its C code is; a board between bytecodes), and never
  while it waits for the relay's answer about its filesystem (an import there would take
  the stop for a missing file).
- A soft reset (Ctrl-D at an empty prompt, `sys.exit()`) ends the unix port; the relay
  prints `MPY: soft reboot`, starts it again (running `boot.py`) in the same REPL mode,
  and the port stays the same.
- SIGUSR1 to the relay is the reset button: `boot.py` and `main.py` run, friendly REPL.
- `--legacy` answers like firmware older than 1.14, which lacks raw-paste mode.
- WebREPL: the board's `webrepl.start()` (sim/webrepl.py) asks the relay to serve WebREPL,
  over the board's control channel: one end of a socket pair that the child inherits (only
  its number is on the command line; no other account can reach it, nor any other
  process of ours). The kernel reaches the relay the same way (`--control-fd`). The relay then
  listens on 127.0.0.1 (8266 when free) and bridges it to the same REPL, as the firmware
  does beside its UART (webrepl_server.py). A reset ends it; boot.py starts it again.
- The board sees its folder as "/" with a flash of --fs-size bytes (sim/_mpk.py); without
  --root the folder is a new private one (0700), removed with everything in it when the
  board stops (also when its kernel is killed). The board gets a clean environment:
  nothing of the kernel's (no passwords) reaches it.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import fcntl
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from . import leftovers

if TYPE_CHECKING:
    from .webrepl_server import WebReplServer


SIM_DIR = Path(__file__).with_name("sim")
RAW_BANNER = b"raw REPL; CTRL-B to exit"
FRIENDLY_PROMPT = b">>> "
_PR_SET_PDEATHSIG = 1
DEFAULT_WEBREPL_PORT = 8266
#: The virtual board's filesystem: about what an ESP8266 with 4 MB of flash leaves for files.
FS_SIZE = 3 * 1024 * 1024
#: Extra heap for the board's own set-up when a small heap is asked for (given back after).
SETUP_HEAP = 96 * 1024
#: How long input waits at most for the board's set-up (it says "ready" when done).
READY_TIMEOUT = 10.0
#: Seconds a stop waits at most for running code to reach a system call (see
#: _where); a loop that never makes one is stopped after that, outside the board's
#: filesystem (CONTROL_LATENCY at most).
STOP_LATENCY = 0.05
CONTROL_LATENCY = 2.0
#: The only variables of ours that the board's processes get (no secrets, nothing else).
ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH", "LD_LIBRARY_PATH")


def clean_env() -> dict[str, str]:
    """The environment for the virtual board's processes: only what running them needs."""
    return {k: v for k, v in os.environ.items() if k in ENV_KEEP}


def heap_bytes(size: str) -> int:
    """ "12k", "2m" or "30000" as a number of bytes."""
    text = size.strip().lower()
    scale = {"k": 1024, "m": 1024 * 1024}.get(text[-1:], 1)
    return int(text.rstrip("km")) * scale


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: have the kernel deliver `sig` to this process when its parent dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)


class Child:
    """The MicroPython child (forked by fork_micropython): what the relay asks of it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def _reaped(self, flags: int) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        return self._reaped(os.WNOHANG)

    def wait(self) -> int | None:
        return self._reaped(0)

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def fork_micropython(argv: list[str], tty: int, keep: int, root: Path) -> Child:
    """Run MicroPython (the unix port, as `argv`) in a child forked from this process, on the
    PTY `tty` as its controlling terminal (so ^C is a signal), in `root`, with a clean
    environment and no open file but its terminal and the descriptor `keep`.

    A fork, not a new interpreter: the board starts (and restarts at each soft reset)
    without a second Python start-up. This process runs no thread of its own.
    """
    import micropython_unix  # in the parent: the child only runs it

    env = clean_env()
    pid = os.fork()
    if pid:
        return Child(pid)
    code = 1
    try:
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)  # this process's handlers are not the child's
        os.setsid()
        fcntl.ioctl(tty, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(tty, fd)
        os.closerange(3, keep)
        os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
        os.chdir(root)
        os.environ.clear()
        os.environ.update(env)
        die_with_parent()
        sys.argv = argv
        micropython_unix.main()
        code = 0
    finally:
        os._exit(code)


@atexit.register
def _stop_kept() -> None:
    VirtualBoard.drop_spare()
    for vb in list(VirtualBoard._kept):
        vb.stop()


def _sigint_caught(pid: int) -> bool:
    """Whether the process has a SIGINT handler installed (MicroPython is running code)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    except OSError:
        pass
    return False


def _where(pid: int, control_fd: int) -> str:
    """Where the process is, for a stop: "control" while it waits for the relay's answer on
    its control channel (the board's filesystem: C code on a board, and an import there
    takes any exception for a missing file, so a stop would be lost); "running" (the unix
    port raises KeyboardInterrupt inside its signal handler, wherever its C code is: in a
    collection it leaves the heap locked for good, in a read it loses bytes it took);
    "waiting" in any other system call (reading its input, writing its output, sleeping),
    where a stop lands as on a board, between bytecodes."""
    try:
        with open(f"/proc/{pid}/syscall") as call:
            fields = call.read().split()
    except OSError:
        return "waiting"  # no way to tell (a kernel without it): as if it waited
    if not fields or fields[0] == "running":
        return "running"
    return "control" if fields[1:2] == [hex(control_fd)] else "waiting"


class Relay:
    """Bridges the port PTY to a MicroPython child, restarting it on soft reset."""

    def __init__(
        self,
        root: Path,
        heap: str | None,
        legacy: bool,
        hide: str | None,
        fs_size: int = FS_SIZE,
        flat: bool = False,
    ) -> None:
        self.root = root
        self.flat = flat
        self.heap = heap
        self.legacy = legacy
        self.hide = hide
        self.fs_size = fs_size
        #: Control channels (socket pair ends): the board's (new for each start of the
        #: child) and, when the kernel started us, the kernel's.
        self.board_control: socket.socket | None = None
        self.kernel_control: socket.socket | None = None
        self.webrepl: WebReplServer | None = None
        self.webrepl_port = DEFAULT_WEBREPL_PORT
        self.port_master, port_slave = os.openpty()
        tty.setraw(port_slave)
        # Keep our own handle on the slave so the port survives a client closing it.
        self.port_slave = port_slave
        self.port = os.ttyname(port_slave)
        self.child: Child | None = None
        self.child_control = -1
        #: A stop (Ctrl-C while code runs) not yet signalled: the board process it is for,
        #: and when it goes at the latest.
        self.pending_stop: tuple[Child, float] | None = None
        self.board_master = -1
        self.raw_mode = False
        # After a restart in raw mode: hide the friendly banner, then the raw banner's repeat.
        self.swallow: bytes | None = None
        self.swallow_raw: bytes | None = None
        self.reset_button = False
        #: While the board sets itself up: when to stop waiting for it; input is held.
        self.ready_by = 0.0
        self.held = b""
        self.ready_asked = False
        #: The board has nothing to run (no boot.py, no main.py): input flows at its first
        #: prompt. The last bytes it printed meanwhile (None: not waiting for a prompt).
        self.ready_at_prompt: bytes | None = None

    def start_child(self, power_on: bool) -> None:
        master, slave = os.openpty()
        # No output processing: the bytes MicroPython writes reach the port unchanged, as
        # from a board's UART (the firmware writes its own \r\n; a PTY would double the \r).
        # No echo either: a board's UART never echoes what it receives, while a PTY in
        # cooked mode (the unix port's mode while code runs) would show Ctrl-A/Ctrl-C as
        # "^A"/"^C" and repeat what input() reads. Signals (Ctrl-C) still work.
        # No line discipline: a UART hands each byte over as it arrives, so a program that
        # reads stdin gets bytes without waiting for a line end, and no byte is taken as an
        # erase, a flow-control stop or a quit/suspend signal. Only Ctrl-C still raises
        # SIGINT (the unix port's KeyboardInterrupt while code runs).
        attrs = termios.tcgetattr(slave)
        attrs[0] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON
                      | termios.IXOFF | termios.ISTRIP)  # fmt: skip
        attrs[1] &= ~termios.ONLCR
        attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.IEXTEN)
        attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 1, 0
        for key in (termios.VQUIT, termios.VSUSP):
            attrs[6][key] = 0  # disabled: 0x1c and 0x1a are plain bytes
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        argv = ["micropython"]
        if self.heap:
            argv += ["-X", f"heapsize={heap_bytes(self.heap) + SETUP_HEAP}"]
        ours, theirs = socket.socketpair()
        self.close_board_control()
        self.board_control = ours
        argv += ["-i", str(SIM_DIR / "_start.py"), f"root={self.root}"]
        argv += [f"ctl={theirs.fileno()}", f"fs={self.fs_size}"]
        if self.heap:
            argv.append(f"heap={heap_bytes(self.heap)}")
        if power_on:
            argv.append("main")
        if self.hide:
            argv.append(f"hide={self.hide}")
        if self.flat:
            argv.append("flat")
        self.child = fork_micropython(argv, slave, theirs.fileno(), self.root)
        self.child_control = theirs.fileno()  # the number the child knows it by
        theirs.close()
        os.close(slave)
        self.board_master = master
        self.ready_by = time.monotonic() + READY_TIMEOUT
        if self.raw_mode:
            self.swallow = b""

    def close_board_control(self) -> None:
        if self.board_control is not None:
            self.board_control.close()
            self.board_control = None

    def stop_child(self) -> None:
        if self.child and self.child.poll() is None:
            self.child.kill()
        if self.child:
            self.child.wait()
        self.close_board_control()
        if self.board_master >= 0:
            os.close(self.board_master)
            self.board_master = -1

    def to_port(self, data: bytes) -> None:
        os.write(self.port_master, data)
        if self.webrepl is not None:
            self.webrepl.repl_output(data)

    def from_port(self, data: bytes) -> None:
        """Bytes from the host to the board (held while the board sets itself up)."""
        if self.setting_up():
            self.held += data
            return
        if self.legacy:
            # Before 1.14 the raw REPL knew no raw-paste: Ctrl-A reprints the banner.
            data = data.replace(b"\x05A\x01", b"\x01")
        stop = b"\x03" in data and self.child is not None and _sigint_caught(self.child.pid)
        if stop:
            # Code runs: like a board's UART, Ctrl-C is the stop, not input for the program.
            data = data.replace(b"\x03", b"")
        if self.board_master >= 0 and data:
            os.write(self.board_master, data)
        if stop and self.pending_stop is None and self.child is not None:
            self.pending_stop = (self.child, time.monotonic() + STOP_LATENCY)
            self.deliver_stop()

    def deliver_stop(self) -> None:
        """Signal the stop once the board waits where it lands, or once STOP_LATENCY has
        passed and it is not in its filesystem (the run loop answers the board's control
        requests meanwhile). A stop whose code ended meanwhile, or whose board restarted,
        has nothing left to stop (and the signal would end the board's process)."""
        if self.pending_stop is None:
            return
        child, by = self.pending_stop
        if child is not self.child or not _sigint_caught(child.pid):
            self.pending_stop = None
            return
        where, late = _where(child.pid, self.child_control), time.monotonic() - by
        if where == "waiting" or (where == "running" and late > 0) or late > CONTROL_LATENCY:
            self.pending_stop = None
            child.send_signal(signal.SIGINT)

    def setting_up(self) -> bool:
        """Whether the board is still in its firmware's start-up (before boot.py).

        Input waits until then, as a board's UART input waits for its firmware: a Ctrl-C
        sent at connect must stop boot.py or main.py, never the virtual board's own set-up.
        """
        if self.ready_by and time.monotonic() > self.ready_by:
            self.board_ready()  # it never said so: carry on rather than hold input forever
        return bool(self.ready_by)

    def board_ready(self) -> None:
        self.ready_by = 0.0
        self.ready_at_prompt = None
        held, self.held = self.held, b""
        if held:
            self.from_port(held)

    def from_board(self, data: bytes) -> None:
        """Bytes from the board to the host (the held input follows a first prompt that a
        board with nothing to run was waiting for)."""
        self._from_board(data)
        if self.ready_at_prompt is not None:
            seen = self.ready_at_prompt + data
            if FRIENDLY_PROMPT in seen:
                self.board_ready()
            else:
                self.ready_at_prompt = seen[-len(FRIENDLY_PROMPT) :]

    def _from_board(self, data: bytes) -> None:
        if self.swallow is not None:
            # Restarted in raw mode: show boot.py's output, not the friendly banner.
            self.swallow += data
            head, sep, _ = self.swallow.partition(b"MicroPython ")
            if sep and FRIENDLY_PROMPT in self.swallow:
                self.swallow = None
                if head:
                    self.to_port(head)
                os.write(self.board_master, b"\x01")  # Ctrl-A: back to the raw REPL
                self.swallow_raw = b""
            return
        if self.swallow_raw is not None:
            self.swallow_raw += data
            if RAW_BANNER in self.swallow_raw and self.swallow_raw.endswith(b">"):
                self.swallow_raw = None
                self.to_port(RAW_BANNER + b"\r\n>")
            return
        if RAW_BANNER in data:
            self.raw_mode = True
        elif b'Type "help()"' in data:
            self.raw_mode = False
        self.to_port(data)

    def on_child_exit(self) -> None:
        self.stop_child()
        self.stop_webrepl()  # a reset closes the firmware's sockets; boot.py may start it again
        if self.reset_button:
            self.reset_button = False
            self.raw_mode = False
            self.start_child(power_on=True)
            return
        self.to_port(b"MPY: soft reboot\r\n")
        self.start_child(power_on=False)

    # -- WebREPL and the board's requests -------------------------------------------------

    def start_webrepl(self, port: int, password: str) -> int:
        """Serve WebREPL (again at the port it had, if it ran before); return its port."""
        from .webrepl_server import WebReplServer  # websockets: loaded when first needed

        self.stop_webrepl()
        wanted = self.webrepl_port if port == DEFAULT_WEBREPL_PORT else port
        self.webrepl = WebReplServer(self.root, password, self.from_port, port=wanted)
        self.webrepl_port = self.webrepl.port
        return self.webrepl.port

    def stop_webrepl(self) -> None:
        if self.webrepl is not None:
            self.webrepl.close()
            self.webrepl = None

    def answer(self, line: str) -> str:
        """One request from the board (sim/_mpk.py ask()) or from VirtualBoard."""
        cmd, _, args = line.partition(" ")
        if cmd == "webrepl-start":
            port, _, password = args.partition(" ")
            try:
                return f"ok {self.start_webrepl(int(port), password)}"
            except (OSError, ValueError) as exc:
                return f"error {exc}"
        if cmd == "inside":  # a path of the board's filesystem (or "?" and its UTF-8 in hex)
            return "ok" if self.inside(args) else "error outside the board's folder"
        if cmd == "ready":  # the board's set-up is done: boot.py runs now
            self.ready_asked = True  # input flows once the answer is out (on_control)
            return "ok"
        if cmd == "ready-at-prompt":  # set up, nothing to run: a Ctrl-C sent now is for the
            self.ready_at_prompt = b""  # REPL, never for the board's own start-up code
            return "ok"
        if cmd == "webrepl-stop":
            self.stop_webrepl()
            return "ok"
        if cmd == "webrepl-status":
            return f"ok {self.webrepl.port}" if self.webrepl else "ok"
        if cmd == "reset":  # machine.reset(): as the reset button, at once
            self.press_reset()
            return "ok"
        if cmd == "started":  # whether the board is past its firmware's start-up (boot.py runs)
            return "ok" if not self.reset_button and not self.setting_up() else "ok starting"
        return "error unknown request"

    def inside(self, path: str) -> bool:
        """Whether a board path ("/a/b", normalised by the board) stays in the board's folder
        with links followed: the board's filesystem must never reach the rest of the host."""
        if path.startswith("?"):
            try:
                path = bytes.fromhex(path[1:]).decode("utf-8", "surrogateescape")
            except ValueError:
                return False
        real = os.path.realpath(os.path.join(self.root, path.lstrip("/")))
        return real == str(self.root) or real.startswith(str(self.root) + os.sep)

    def on_control(self, conn: socket.socket) -> bool:
        """Answer the request line that arrived on a control channel; False if it closed.

        Each side writes one line and waits for its answer, so a request is read whole here
        (within a deadline) before the next one can come.
        """
        data = b""
        conn.settimeout(2.0)
        try:
            while not data.endswith(b"\n") and len(data) < 4096:
                got = conn.recv(4096 - len(data))
                if not got:
                    return False
                data += got
            seq, _, line = data.decode("utf-8", "surrogateescape").rstrip("\n").partition(" ")
            conn.sendall(f"{seq} {self.answer(line)}\n".encode())
        except OSError:
            return False
        if self.ready_asked:  # a Ctrl-C held until now must not cut that answer short
            self.ready_asked = False
            self.board_ready()
        return True

    def run(self) -> None:
        self.start_child(power_on=True)
        while True:
            controls = [c for c in (self.board_control, self.kernel_control) if c is not None]
            waits: list[Any] = [self.port_master, self.board_master, *controls]
            if self.webrepl is not None:
                waits += self.webrepl.sockets()
            ready, _, _ = select.select(waits, [], [], 0.5 if self.pending_stop is None else 0.0005)
            for conn in controls:
                if conn in ready and not self.on_control(conn):
                    if conn is self.kernel_control:  # the kernel closed its end: it is done
                        return
                    self.close_board_control()  # the board's: it ends, its restart makes one
            if self.held:
                self.setting_up()  # hands held input on after the timeout
            if self.webrepl is not None:
                for sock in self.webrepl.sockets():
                    if sock in ready and self.webrepl is not None:
                        self.webrepl.handle(sock)
            if self.port_master in ready:
                data = os.read(self.port_master, 4096)
                self.from_port(data)
            if self.board_master in ready:
                try:
                    data = os.read(self.board_master, 4096)
                except OSError:
                    data = b""
                if data:
                    self.from_board(data)
                else:
                    self.on_child_exit()
            self.deliver_stop()
            if os.getppid() == 1 and not sys.platform.startswith("linux"):
                break  # parent gone where no death signal exists

    def press_reset(self, *_: object) -> None:
        """SIGUSR1: the reset button."""
        self.reset_button = True
        self.swallow = self.swallow_raw = None
        if self.child and self.child.poll() is None:
            self.child.kill()


def _stop_on_term(*_: object) -> None:
    """SIGTERM: stop and tidy up, once (a second one, as the kernel that sent the first
    dies, must not cut the tidying short)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mpkernel-virtual-board",
        description="Run a MicroPython (unix port) behind a pseudo-terminal that acts as a "
        "serial port. Prints the port's path on the first line of output.",
    )
    parser.add_argument(
        "--root",
        help="the board's filesystem folder (default: a new private temp dir, removed when "
        "the board stops)",
    )
    parser.add_argument("--heap", help="MicroPython heap size, e.g. 30k for an ESP8266-sized heap")
    parser.add_argument("--legacy", action="store_true", help="act as firmware without raw-paste")
    parser.add_argument(
        "--flat",
        action="store_true",
        help="a flat filesystem as the micro:bit v1's: os has only listdir, remove, size",
    )
    parser.add_argument(
        "--fs-size",
        type=heap_bytes,
        default=FS_SIZE,
        help="the board's filesystem size, e.g. 3m (what os.statvfs and %%df report)",
    )
    parser.add_argument(
        "--hide",
        help="act like a smaller port: modules or functions to leave out, e.g. "
        "binascii,hashlib,os.ilistdir",
    )
    parser.add_argument(
        "--control-fd",
        type=int,
        help="an inherited socket (one end of a socket pair) to take requests on, one line "
        "each: how the kernel that started this board reaches it",
    )
    args = parser.parse_args(argv)
    # Its parent gone (the kernel stopped or was killed), the board stops and tidies up.
    signal.signal(signal.SIGTERM, _stop_on_term)
    die_with_parent(signal.SIGTERM)
    # A folder of its own (mode 0700, only this account), removed when the board stops,
    # with what it holds (webrepl_cfg.py has the WebREPL password); one given is kept.
    root = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix=leftovers.PREFIX))
    try:
        root.mkdir(parents=True, exist_ok=True)
        # Held open while the board runs: another board's sweep sees the folder in use.
        held = os.open(root, os.O_RDONLY)
        relay = Relay(root.resolve(), args.heap, args.legacy, args.hide, args.fs_size, args.flat)
    except BaseException:
        if not args.root:
            shutil.rmtree(root, ignore_errors=True)
        raise
    try:  # from here a SIGTERM (the kernel gone) always ends in the tidying below
        signal.signal(signal.SIGUSR1, relay.press_reset)
        if args.control_fd is not None:
            relay.kernel_control = socket.socket(fileno=args.control_fd)
        print(relay.port, flush=True)
        print(root.resolve(), flush=True)
        relay.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        relay.stop_webrepl()
        relay.stop_child()
        os.close(held)
        if not args.root:
            shutil.rmtree(root, ignore_errors=True)
    return 0


class VirtualBoard:
    """Starts and owns a virtual board process; `port` is what to hand to a serial transport.

    `release()` instead of `stop()` keeps a board whose WebREPL serves running (a notebook
    may have moved to it over WebREPL); `reuse()` hands such a board out again, as plugging
    the same board's cable back in.
    """

    #: Boards released while their WebREPL serves, still running.
    _kept: ClassVar[list[VirtualBoard]] = []
    #: A board started ahead of its use (start_spare), not yet handed out.
    _spare: ClassVar[VirtualBoard | None] = None

    def __init__(
        self,
        root: str | Path | None = None,
        heap: str | None = None,
        legacy: bool = False,
        hide: str | None = None,
        flat: bool = False,
        spare: bool = False,
    ) -> None:
        """Start a board (`spare`: its process only; `_started()` waits for it)."""
        argv = [sys.executable, "-m", "mpkernel.board.virtual.board"]
        if root is not None:
            argv += ["--root", str(root)]
        if heap:
            argv += ["--heap", heap]
        if legacy:
            argv.append("--legacy")
        if hide:
            argv += ["--hide", hide]
        if flat:
            argv.append("--flat")
        # The board's control channel: a socket pair, one end inherited by the board's
        # process; nothing another process could use is on its command line.
        self._control, theirs = socket.socketpair()
        self._control_lock = threading.Lock()
        self._seq = 0
        argv += ["--control-fd", str(theirs.fileno())]
        try:
            self._proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
                env=clean_env(),
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        self.port = ""
        self.root = Path()
        self._sweeps = root is None  # its folder is a temp one: sweep older boards' there
        if not spare:
            self._started()

    def _started(self) -> None:
        """Read the port and folder that the board's process prints once it runs."""
        assert self._proc.stdout is not None
        self.port = self._proc.stdout.readline().decode().strip()
        self.root = Path(self._proc.stdout.readline().decode().strip())
        if not self.port or not self.root.name:
            self.stop()
            raise RuntimeError("the virtual board did not start (is micropython installed?)")
        if self._sweeps:  # here, not in the board's process: that one forks MicroPython
            sweep = threading.Thread(
                target=leftovers.sweep, args=(self.root, str(self.root.parent)), daemon=True
            )
            sweep.start()

    @classmethod
    def start_spare(cls) -> None:
        """Start a board's process now without waiting for it: the next `reuse()` without
        a root takes it (a kernel starts it as it starts, for its first cell). Call this
        from the main thread: the board ends when the thread that started it ends."""
        if cls._spare is None:
            cls._spare = cls(spare=True)

    @classmethod
    def drop_spare(cls) -> None:
        """Stop the spare board, if one is waiting (a real board is used instead)."""
        spare, cls._spare = cls._spare, None
        if spare is not None:
            spare.stop()

    @classmethod
    def reuse(cls, root: str | Path | None = None) -> VirtualBoard:
        """A kept board (same root, if given) that is still running, else the spare (when no
        root is given), else a new board."""
        for vb in list(cls._kept):
            if not vb.alive:
                vb.stop()
            elif root is None or Path(root).resolve() == vb.root:
                cls._kept.remove(vb)
                return vb
        spare, cls._spare = cls._spare, None
        if spare is not None and root is None and spare.alive:
            with contextlib.suppress(RuntimeError):  # it failed: a new one says why
                spare._started()
                return spare
        if spare is not None:
            spare.stop()
        return cls(root=root)

    def ask(self, request: str, timeout: float = 2.0) -> str:
        """One request to the board's process (see Relay.answer); "" when it is gone or
        does not answer in time (a late answer is told apart by its number and dropped)."""
        with self._control_lock:
            self._seq += 1
            seq = str(self._seq)
            deadline = time.monotonic() + timeout
            try:
                self._control.sendall(f"{seq} {request}\n".encode())
                data = b""
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return ""
                    self._control.settimeout(left)
                    got = self._control.recv(4096)
                    if not got:
                        return ""
                    data += got
                    while b"\n" in data:
                        line, _, data = data.partition(b"\n")
                        number, _, answer = line.decode("utf-8", "replace").partition(" ")
                        if number == seq:
                            return answer.strip()
            except OSError:
                return ""

    def webrepl_url(self) -> str | None:
        """ws://127.0.0.1:PORT while the board's WebREPL serves, else None."""
        parts = self.ask("webrepl-status").split()
        return f"ws://127.0.0.1:{parts[1]}" if len(parts) == 2 and parts[0] == "ok" else None

    def release(self) -> None:
        """Done with the board here: stop it, unless its WebREPL serves (then keep it)."""
        if self.alive and self.webrepl_url():
            if self not in VirtualBoard._kept:
                VirtualBoard._kept.append(self)
            return
        self.stop()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def press_reset(self) -> None:
        """Hard reset: restart MicroPython, running boot.py and main.py."""
        if self.alive:
            self._proc.send_signal(signal.SIGUSR1)

    def reset_and_wait(self, timeout: float = READY_TIMEOUT + 5.0) -> None:
        """Hard reset, and return once the board is past its firmware's start-up (boot.py
        runs), or after `timeout`: how long that start-up takes depends on this computer's
        load, which a real board's firmware does not, so a Ctrl-C the kernel sends after a
        reset must not be timed from the button press."""
        if self.ask("reset", timeout) != "ok":
            return  # the board's process is gone (or stuck): nothing to wait for
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.ask("started") == "ok starting":
            time.sleep(0.02)

    def stop(self) -> None:
        if self in VirtualBoard._kept:
            VirtualBoard._kept.remove(self)
        if self.alive:
            self._proc.terminate()
            try:
                self._proc.wait(2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()
        self._control.close()

    def __enter__(self) -> VirtualBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
