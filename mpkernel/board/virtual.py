"""The virtual board: a real MicroPython (the unix port) behind a pseudo-terminal.

It runs as its own process (`python -m mpkernel.board.virtual`) that owns two PTYs:
the MicroPython child sits on one as its controlling terminal, and the other one's
slave path is the "serial port" that the kernel (or mpremote, or a terminal) opens,
exactly as it would open /dev/ttyUSB0. A relay between the two makes the unix port
behave like a board on a UART:

- Ctrl-C (0x03) interrupts running code even where the unix port left its terminal
  in raw mode (raw-paste execution): the relay signals the child when it has its
  SIGINT handler installed, which is when MicroPython is running code.
- A soft reset (Ctrl-D at an empty prompt, `sys.exit()`) ends the unix port; the relay
  prints `MPY: soft reboot`, starts it again (running `boot.py`) in the same REPL mode,
  and the port stays the same.
- SIGUSR1 to the relay is the reset button: `boot.py` and `main.py` run, friendly REPL.
- `--legacy` answers like firmware older than 1.14, which lacks raw-paste mode.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import os
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time
import tty
from pathlib import Path

SIM_DIR = Path(__file__).with_name("sim")
RAW_BANNER = b"raw REPL; CTRL-B to exit"
FRIENDLY_PROMPT = b">>> "
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: have the kernel deliver SIGKILL to this process when its parent dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _child_setup() -> None:
    """In the MicroPython child: make the PTY its controlling terminal, so ^C is a signal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    die_with_parent()


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


class Relay:
    """Bridges the port PTY to a MicroPython child, restarting it on soft reset."""

    def __init__(self, root: Path, heap: str | None, legacy: bool, hide: str | None) -> None:
        self.root = root
        self.heap = heap
        self.legacy = legacy
        self.hide = hide
        self.port_master, port_slave = os.openpty()
        tty.setraw(port_slave)
        # Keep our own handle on the slave so the port survives a client closing it.
        self.port_slave = port_slave
        self.port = os.ttyname(port_slave)
        self.child: subprocess.Popen[bytes] | None = None
        self.board_master = -1
        self.raw_mode = False
        # After a restart in raw mode: hide the friendly banner, then the raw banner's repeat.
        self.swallow: bytes | None = None
        self.swallow_raw: bytes | None = None
        self.reset_button = False

    def start_child(self, power_on: bool) -> None:
        master, slave = os.openpty()
        # No output processing: the bytes MicroPython writes reach the port unchanged, as
        # from a board's UART (the firmware writes its own \r\n; a PTY would double the \r).
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.ONLCR
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        argv = ["micropython"]
        if self.heap:
            argv += ["-X", f"heapsize={self.heap}"]
        argv += ["-i", str(SIM_DIR / "_start.py")] + (["main"] if power_on else [])
        if self.hide:
            argv.append(f"hide={self.hide}")
        code = f"import sys, micropython_unix; sys.argv = {argv!r}; micropython_unix.main()"
        env = dict(os.environ, MICROPYPATH=f":.frozen:lib:{SIM_DIR}")
        self.child = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=self.root,
            env=env,
            preexec_fn=_child_setup,
            close_fds=True,
        )
        os.close(slave)
        self.board_master = master
        if self.raw_mode:
            self.swallow = b""

    def stop_child(self) -> None:
        if self.child and self.child.poll() is None:
            self.child.kill()
        if self.child:
            self.child.wait()
        if self.board_master >= 0:
            os.close(self.board_master)
            self.board_master = -1

    def to_port(self, data: bytes) -> None:
        os.write(self.port_master, data)

    def from_port(self, data: bytes) -> None:
        """Bytes from the host to the board."""
        if self.legacy:
            # Before 1.14 the raw REPL knew no raw-paste: Ctrl-A reprints the banner.
            data = data.replace(b"\x05A\x01", b"\x01")
        if self.board_master >= 0:
            os.write(self.board_master, data)
        if b"\x03" in data and self.child is not None:
            isig = termios.tcgetattr(self.board_master)[3] & termios.ISIG
            if not isig and _sigint_caught(self.child.pid):
                self.child.send_signal(signal.SIGINT)

    def from_board(self, data: bytes) -> None:
        """Bytes from the board to the host."""
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
        if self.reset_button:
            self.reset_button = False
            self.raw_mode = False
            self.start_child(power_on=True)
            return
        self.to_port(b"MPY: soft reboot\r\n")
        self.start_child(power_on=False)

    def run(self) -> None:
        self.start_child(power_on=True)
        while True:
            ready, _, _ = select.select([self.port_master, self.board_master], [], [], 0.5)
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
            if os.getppid() == 1 and not sys.platform.startswith("linux"):
                break  # parent gone where no death signal exists

    def press_reset(self, *_: object) -> None:
        """SIGUSR1: the reset button."""
        self.reset_button = True
        self.swallow = self.swallow_raw = None
        if self.child and self.child.poll() is None:
            self.child.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mpkernel-virtual-board",
        description="Run a MicroPython (unix port) behind a pseudo-terminal that acts as a "
        "serial port. Prints the port's path on the first line of output.",
    )
    parser.add_argument("--root", help="the board's filesystem folder (default: a new temp dir)")
    parser.add_argument("--heap", help="MicroPython heap size, e.g. 30k for an ESP8266-sized heap")
    parser.add_argument("--legacy", action="store_true", help="act as firmware without raw-paste")
    parser.add_argument(
        "--hide",
        help="act like a smaller port: modules or functions to leave out, e.g. "
        "binascii,hashlib,os.ilistdir",
    )
    args = parser.parse_args(argv)
    die_with_parent()
    root = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="mpkernel-board-"))
    root.mkdir(parents=True, exist_ok=True)
    relay = Relay(root.resolve(), args.heap, args.legacy, args.hide)
    signal.signal(signal.SIGUSR1, relay.press_reset)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(relay.port, flush=True)
    print(root.resolve(), flush=True)
    try:
        relay.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        relay.stop_child()
    return 0


class VirtualBoard:
    """Starts and owns a virtual board process; `port` is what to hand to a serial transport."""

    def __init__(
        self,
        root: str | Path | None = None,
        heap: str | None = None,
        legacy: bool = False,
        hide: str | None = None,
    ) -> None:
        argv = [sys.executable, "-m", "mpkernel.board.virtual"]
        if root is not None:
            argv += ["--root", str(root)]
        if heap:
            argv += ["--heap", heap]
        if legacy:
            argv.append("--legacy")
        if hide:
            argv += ["--hide", hide]
        self._proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        assert self._proc.stdout is not None
        self.port = self._proc.stdout.readline().decode().strip()
        self.root = Path(self._proc.stdout.readline().decode().strip())
        if not self.port:
            raise RuntimeError("the virtual board did not start (is micropython installed?)")
        self._wait_for_prompt()

    def _wait_for_prompt(self) -> None:
        """Give MicroPython a moment to print its banner, so a first read sees it."""
        time.sleep(0.05)

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def press_reset(self) -> None:
        """Hard reset: restart MicroPython, running boot.py and main.py."""
        if self.alive:
            self._proc.send_signal(signal.SIGUSR1)

    def stop(self) -> None:
        if self.alive:
            self._proc.terminate()
            try:
                self._proc.wait(2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> VirtualBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
