"""`%mount`: a folder on this computer as the board's working folder, served over the link.

The board side (helpers/mount.py) is a filesystem object mounted at MOUNT_POINT: each call
it gets prints a request into the running code's output (`\\x18`, a letter, arguments
joined by `\\x1f`, `\\x17`) and reads the answer from stdin. `MountServer.filter` sits in
the raw REPL's output stream (RawRepl.intercept): it takes requests out, answers them from
the HostFolder, and passes every other byte on. The run's first request takes the probe
queued behind the code (run_end) from stdin, and the board side skips it: such a run's end
is probed afresh (one round trip). Cells that read nothing from the mount run unchanged.
"""

from __future__ import annotations

import errno
import re
from binascii import a2b_base64, b2a_base64
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..errors import OperationError
from .caps import Caps
from .helpers import helper
from .host_folder import HostFolder
from .links.transport import Transport
from .repl.rawrepl import RawRepl


class MountHost(Protocol):
    """What mounting needs of a board (Board is one)."""

    transport: Transport
    repl: RawRepl

    @property
    def caps(self) -> Caps: ...

    def exec_capture(self, code: str) -> str: ...


MOUNT_POINT = "/remote"
START, SEP, END = b"\x18", "\x1f", b"\x17"
_LETTERS = frozenset(b"CSVLORWKDMXN")
#: Bytes a raw REPL acts on (and the escape itself), escaped in unencoded read answers: a
#: stop that cuts an answer short leaves only harmless bytes on the board's line.
_CONTROL = re.compile(rb"[\x00-\x05\x1b]")
_ESCAPED = {**{b: bytes((0x40 + b,)) for b in range(6)}, 0x1B: b"["}
_LONGEST_REQUEST = 8192  # a write request carries at most 1 KB of base64 plus two paths


class MountServer:
    """Answers one mounted board's requests from a folder on this computer."""

    def __init__(self, folder: str | Path, write: Callable[[bytes], None], chunk: int) -> None:
        self.folder = HostFolder(folder)
        self.write = write
        self.chunk = chunk  # file bytes per read answer (Transport.stdin_chunk)
        #: Read answers go unencoded (escaped), not as base64: set at install from the
        #: board's caps and whether the link carries any byte.
        self.raw = False
        #: The board reads answers as text (no sys.stdin.buffer): lengths count characters.
        self.chars = False
        self._buf = bytearray()
        self.requests_seen = 0  # since the run started (the first takes the queued probe)

    @property
    def root(self) -> Path:
        return self.folder.root

    def reset(self) -> None:
        """A new run starts: a request cut short by an interrupt is forgotten."""
        self._buf.clear()
        self.requests_seen = 0

    def filter(self, data: bytes, answer: bool = True) -> bytes:
        """The program's own bytes from `data`; requests in it are answered (unless not
        `answer`: the program was interrupted, an answer would land at the REPL's prompt)."""
        if not self._buf and START not in data:
            return data
        self._buf += data
        out = bytearray()
        while self._buf:
            at = self._buf.find(START)
            if at < 0:
                out += self._buf
                self._buf.clear()
                break
            out += self._buf[:at]
            del self._buf[:at]
            if len(self._buf) < 2:
                break  # the letter is on its way
            if self._buf[1] not in _LETTERS:  # the program printed 0x18 itself
                out += self._buf[:1]
                del self._buf[:1]
                continue
            end = self._buf.find(END)
            eot = self._buf.find(b"\x04")  # no request holds one: the run's end may
            if (0 <= eot < end or end < 0 <= eot) or (
                end < 0 and len(self._buf) > _LONGEST_REQUEST
            ):  # not a request after all
                out += self._buf[:1]
                del self._buf[:1]
                continue
            if end < 0:
                break  # the rest of the request is on its way
            request = bytes(self._buf[1:end]).decode("utf-8", "replace")
            del self._buf[: end + 1]
            self.requests_seen += 1
            if answer:
                self._answer(request[0], request[1:].split(SEP))
        return bytes(out)

    def _answer(self, letter: str, args: list[str]) -> None:
        """Answer one request; whatever goes wrong, the board gets an answer it understands
        (an errno), so the exchange ends and the link stays in step."""
        try:
            status, text = b"O", self._serve(letter, args)
        except OSError as exc:
            status, text = b"E", str(exc.errno or errno.EIO).encode()
        except (ValueError, IndexError, UnicodeError):
            status, text = b"E", str(errno.EINVAL).encode()
        except RuntimeError:  # Path.resolve() on a symlink loop
            status, text = b"E", str(errno.ELOOP).encode()
        except Exception:  # a bug of ours must not leave the board waiting for its answer
            status, text = b"E", str(errno.EIO).encode()
        size = len(text.decode("utf-8", "replace")) if self.chars else len(text)
        self.write(status + b"%05x" % size + text)

    def _serve(self, letter: str, args: list[str]) -> bytes:
        folder = self.folder
        if letter == "R":
            return self._data(folder.read(args[0], self.chunk))
        if letter == "O":
            number = folder.open(args[0], args[1])
            first = folder.read(str(number), self.chunk) if "r" in args[1] else b""
            return b"%d," % number + self._data(first)
        return self._serve_text(letter, args).encode()

    def _data(self, data: bytes) -> bytes:
        """File bytes as the board's helper decodes them (_mpk_md)."""
        if self.raw:
            return _CONTROL.sub(lambda m: b"\x1b" + _ESCAPED[m.group()[0]], data)
        return b2a_base64(data, newline=False)

    def _serve_text(self, letter: str, args: list[str]) -> str:
        folder = self.folder
        if letter == "W":
            folder.write(args[0], a2b_base64(args[1]))
            return ""
        if letter == "S":
            return " ".join(map(str, folder.stat(args[0])))
        if letter == "L":
            return "\x1e".join(f"{n}\x1f{t}\x1f{s}" for n, t, s in folder.listdir(args[0]))
        if letter == "C":
            return folder.board_path(args[0])
        if letter == "K":
            folder.close(args[0])
        elif letter == "D":
            folder.remove(args[0])
        elif letter == "M":
            folder.mkdir(args[0])
        elif letter == "X":
            folder.rmdir(args[0])
        elif letter == "N":
            folder.rename(args[0], args[1])
        elif letter == "V":
            return " ".join(map(str, folder.statvfs(args[0])))
        return ""

    def close(self) -> None:
        """Forget what the board left open (its writes are on disk already)."""
        self.folder.close_all()
        self._buf.clear()


class MountError(OperationError):
    """Mounting failed, or an operation does not work on the mounted folder."""


def install(board: MountHost, server: MountServer) -> None:
    """Mount `server`'s folder on the board at MOUNT_POINT and make it the current folder
    (again after a reset: the board forgot it). MountError if the board cannot."""
    caps = board.caps
    lacks = [name for name, has in (("io.IOBase", caps.iobase), ("binascii", caps.b64)) if not has]
    if lacks:
        raise MountError(
            f"This board's MicroPython has no {' or '.join(lacks)}, which %mount needs: "
            "copy the files with %put or %sync instead."
        )
    server.raw = caps.raw_in and board.transport.binary_stdin
    server.chars = not caps.stdin_buffer
    board.repl.intercept = server
    try:
        call = f"_mpk_mount({MOUNT_POINT!r}, {int(server.raw)})"
        said = board.exec_capture(helper("mount") + call).strip()
    except BaseException as exc:
        stop_serving(board, server)
        if getattr(exc, "ename", "") == "MemoryError":
            raise MountError(
                "The board has too little free memory for %mount's code (up to 5 KB): "
                "%reset, then %mount before anything else."
            ) from None
        raise
    if said != "ok":
        stop_serving(board, server)
        raise MountError(
            "This board's MicroPython has no os.mount (no VFS), which %mount needs: "
            "copy the files with %put or %sync instead."
        )


def uninstall(board: MountHost, server: MountServer) -> None:
    """Unmount the folder on the board (its current folder goes back to /), then stop
    serving it (also when the board does not answer)."""
    try:
        board.exec_capture(
            f"_mpk_o = __import__('os')\nif _mpk_o.getcwd().startswith({MOUNT_POINT!r}):\n"
            f" _mpk_o.chdir('/')\ntry:\n _mpk_o.umount({MOUNT_POINT!r})\nexcept OSError:\n pass\n"
            "del _mpk_o\n"
        )
    finally:
        stop_serving(board, server)


def stop_serving(board: MountHost, server: MountServer) -> None:
    """Requests in the board's output are no longer answered; open files are forgotten."""
    board.repl.intercept = None
    server.close()
