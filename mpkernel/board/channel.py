"""File transfers' common ground: the errors, the records, and what a file channel does.

A file channel moves a file's bytes over one kind of link: the streaming helpers over the
raw REPL, one tiny exec per chunk on small heaps, or WebREPL's binary protocol. It is chosen
once per connection (filesystem.choose_channel). A put is one call: a PutRequest in, a
PutOutcome out; each channel does in it what it can (WebREPL also checks and renames on the
board along with the data); BoardFiles verifies and renames whatever is left to do.
"""

from __future__ import annotations

import ast
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import OperationError
from .helpers import helper
from .repl.rawrepl import ExecResult
from .session import Board, BoardExecError

Progress = Callable[[int, int], None]  # (bytes done, bytes total)

TEMP_SUFFIX = ".mpk-part"

ERRNO_TEXT = {
    2: "no such file or folder on the board",
    5: "I/O error on the board's storage",
    13: "permission denied on the board",
    17: "it already exists on the board",
    20: "a part of the path is not a folder",
    21: "it is a folder (use -r for folders)",
    22: "invalid path or argument",
    28: "board storage full",
    30: "the board's filesystem is read-only",
    39: "the folder is not empty",
}
_ERRNO_NAMES = {"ENOENT": 2, "EIO": 5, "EACCES": 13, "EEXIST": 17, "ENOTDIR": 20,
                "EISDIR": 21, "EINVAL": 22, "ENOSPC": 28, "EROFS": 30, "ENOTEMPTY": 39}  # fmt: skip


class FileError(OperationError):
    """A file operation failed; the message is one line that says what happened."""


@dataclass
class Entry:
    """A file or folder on the board."""

    path: str
    is_dir: bool
    size: int


@dataclass
class Transfer:
    """What a put or get moved, and how fast."""

    path: str
    size: int  # file bytes
    wire: int  # bytes sent over the link for the payload
    seconds: float
    encoding: str
    #: "sha256", "adler32" (boards without hashlib), "read back" or "none"; in a mounted
    #: folder (a copy on this computer): "reading it back" or "this computer".
    verified: str

    @property
    def rate(self) -> float:
        return self.size / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class PutRequest:
    """A put as a channel takes it: the bytes, where they go, and their SHA-256 (hex)."""

    data: bytes
    remote: str
    digest: str
    #: A name: when `remote` is an existing folder, the file goes inside it under this name.
    into: str | None = None
    progress: Progress | None = None


@dataclass(frozen=True)
class PutOutcome:
    """What a channel's put did."""

    wire: int  # bytes sent over the link for the payload
    encoding: str  # how they travelled
    #: Where the file belongs: `remote`, or `remote`/`into` where `remote` was a folder.
    path: str
    #: The temporary file written (verify it, then rename it over `path`), unless committed.
    temp: str
    #: The board checked the SHA-256 and renamed `temp` over `path` along with the send.
    committed: bool = False
    #: The board's SHA-256 (hex) of what it wrote (`path` if committed, else `temp`), when it
    #: came with the transfer; None: ask separately.
    digest: str | None = None


@dataclass(frozen=True)
class Received:
    """What a channel's receive read."""

    data: bytes
    wire: int
    encoding: str
    digest: str | None = None  # the board's SHA-256 (hex), when it came with the transfer


def join_path(folder: str, name: str) -> str:
    """`name` inside `folder` ("" is the current folder)."""
    if not folder:
        return name
    return folder + name if folder.endswith("/") else f"{folder}/{name}"


def target_of(board: Board, request: PutRequest) -> str:
    """Where a put's file belongs, asking the board first where `into` is given."""
    if request.into is None:
        return request.remote
    entry = stat(board, request.remote)
    if entry is not None and entry.is_dir:
        return join_path(request.remote, request.into)
    return request.remote


def errno_of(ename: str, evalue: str) -> int | None:
    """The errno of an OSError raised on the board ("[Errno 2] ENOENT", "2", "ENOENT")."""
    if ename != "OSError":
        return None
    m = re.search(r"\[Errno (\d+)\]|^(\d+)$|\b(E[A-Z]+)\b", evalue)
    if not m:
        return None
    if m.group(1) or m.group(2):
        return int(m.group(1) or m.group(2))
    return _ERRNO_NAMES.get(m.group(3))


def file_error(exc: BoardExecError, path: str) -> FileError:
    """One line for a failed operation on `path`."""
    code = errno_of(exc.ename, exc.evalue)
    if code in ERRNO_TEXT:
        return FileError(f"{path}: {ERRNO_TEXT[code]}.")
    if exc.ename == "MemoryError":
        return FileError(f"{path}: the board ran out of memory (free some, or %reset).")
    return FileError(f"{path}: {exc}")


def check_helper(result: ExecResult, path: str) -> None:
    """Raise for a helper that did not finish: KeyboardInterrupt if it was stopped (the stop
    button), else the FileError its traceback names."""
    if result.interrupted:
        raise KeyboardInterrupt
    if result.error:
        raise error_text_to_file_error(result.error, path)


def error_text_to_file_error(text: str, path: str) -> FileError:
    """A FileError from the last line of a traceback the board printed."""
    last = (text.strip().splitlines() or ["Error"])[-1]
    ename, _, value = last.partition(":")
    return file_error(BoardExecError(ename.strip(), value.strip()), path)


def stat_code(path: str) -> str:
    """Code printing repr((is_dir, size)) of `path`, or None."""
    return f"_mpk_P = {path!r}\n{helper('fs_stat')}"


def entry_of(path: str, out: str) -> Entry | None:
    """The Entry that stat_code's output describes."""
    found = ast.literal_eval(out.strip())
    return Entry(path, *found) if found else None


#: How a flat filesystem's one folder (its root) may be named.
ROOTS = ("", "/", ".")


def stat(board: Board, path: str) -> Entry | None:
    """The entry at path, or None if nothing is there.

    On a flat filesystem (no os.stat, Caps.folders False) the root is the only folder and a
    file's size comes from os.size.
    """
    flat = not board.caps.folders
    if flat and path in ROOTS:
        return Entry(path, True, 0)
    try:
        code = f"_mpk_P = {path!r}\n{helper('fs_size')}" if flat else stat_code(path)
        found = board.exec_value(code)
    except BoardExecError as exc:
        raise file_error(exc, path) from None
    if found is None:
        return None
    if flat and isinstance(found, int):
        return Entry(path, False, found)
    if not flat and isinstance(found, tuple) and len(found) == 2:
        return Entry(path, bool(found[0]), int(found[1]))
    raise FileError(f"{path}: the board's answer to a stat was unreadable: {found!r:.60}")


def hash_code(path: str) -> str:
    """Code printing the board's SHA-256 of `path` as a bytes literal."""
    return f"{helper('fs_hash')}try:\n print(_mpk_hash({path!r}))\nfinally:\n del _mpk_hash\n"


def digest_of(out: str, path: str) -> str:
    """fs_hash's output (a bytes literal) as hex."""
    try:
        value = ast.literal_eval(out.strip())
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, bytes) or len(value) != 32:
        raise FileError(f"{path}: the board's SHA-256 answer was unreadable: {out.strip()[:60]!r}")
    return value.hex()


class FileChannel(ABC):
    """Moves one file's bytes to or from the board over one kind of link."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.repl = board.repl

    def run(self, code: str, path: str) -> str:
        """Run board code and return what it printed; its failure is a FileError on path."""
        try:
            return self.board.exec_capture(code)
        except BoardExecError as exc:
            raise file_error(exc, path) from None

    def temp_name(self, remote: str) -> str:
        """Where a put writes before the verified file is renamed to `remote`."""
        return remote + TEMP_SUFFIX

    @abstractmethod
    def put(self, request: PutRequest) -> PutOutcome:
        """Write the request's bytes to a temporary file next to their target (inside the
        folder `request.remote` when `into` is given and it is one), and whatever else the
        channel can do along with the send (see PutOutcome)."""

    @abstractmethod
    def receive(self, remote: str, size: int, progress: Progress | None) -> Received:
        """Read `remote` (`size` bytes): the data, the bytes on the wire, how they travelled,
        and the board's SHA-256 where it came with the transfer."""
