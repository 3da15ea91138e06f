"""Files on the board: listing, moving, and verified transfers in both directions.

Every transfer is verified: a put by SHA-256 on the board (or by reading it back where the
board has no hashlib), a get by SHA-256 (or Adler-32) computed on the board. A put writes a
temporary file that replaces the target only once verified. The bytes themselves travel
through the file channel chosen once for the connection (see choose_channel).

Flat filesystems (the micro:bit's: os has listdir, remove, size and maybe rename; no stat,
no folders; Caps.folders is False) list with os.size, copy where there is no rename, and
refuse folder operations in one line.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import time
import zlib
from pathlib import Path

from ..atomic_write import write_atomically
from .channel import (
    ERRNO_TEXT,
    ROOTS,
    TEMP_SUFFIX,
    Entry,
    FileChannel,
    FileError,
    Progress,
    PutRequest,
    Transfer,
    digest_of,
    file_error,
    hash_code,
    join_path,
    stat,
)
from .helpers import helper, helper_call
from .links.webrepl import WebReplTransport
from .session import Board, BoardExecError
from .stream_files import ChunkChannel, StreamChannel
from .webrepl_files import WebReplChannel

__all__ = ["BoardFiles", "Entry", "FileError", "Progress", "Transfer", "choose_channel"]

NO_FOLDERS = "this board has no folders (its filesystem is flat): use plain file names."


def choose_channel(board: Board) -> FileChannel:
    """The way file bytes travel on this connection (fixed by its link and caps)."""
    # Link-kind branch 1 of 3: WebREPL's binary file protocol exists only on its socket, and
    # its raw REPL cannot carry the streaming helpers' frames reliably.
    if isinstance(board.transport, WebReplTransport):
        return WebReplChannel(board, board.transport)
    if board.caps.tiny:
        return ChunkChannel(board)
    return StreamChannel(board)


class BoardFiles:
    """File operations on one connected board (one per connection: services.Connection
    keeps it in the connection's record, so the channel is chosen once)."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.channel = choose_channel(board)

    def _exec(self, code: str, path: str) -> str:
        return self.channel.run(code, path)

    @property
    def flat(self) -> bool:
        """The board's filesystem has no folders (os.size instead of os.stat)."""
        return not self.board.caps.folders

    def _no_folders(self, path: str) -> None:
        if self.flat:
            raise FileError(f"{path}: {NO_FOLDERS}")

    def ls(self, path: str = "", recursive: bool = False) -> list[Entry]:
        """Entries under path ("" is the current folder; a file lists itself)."""
        if path:
            top = self.stat(path)
            if top is None:
                raise FileError(f"{path}: {ERRNO_TEXT[2]}.")
            if not top.is_dir:
                return [top]
        entries = []
        if self.flat and path in ROOTS:
            code = helper("fs_ls_flat")
        else:
            code = f"_mpk_P = {path!r}\n{helper('fs_ls')}"
        out = self._exec(code, path or ".")
        for line in out.splitlines():
            if not line.strip():
                continue
            name, is_dir, size = ast.literal_eval(line)  # one entry per line: no big repr
            entry = Entry(join_path(path, name), is_dir, size)
            entries.append(entry)
            if recursive and is_dir:
                entries.extend(self.ls(entry.path, recursive=True))
        return sorted(entries, key=lambda e: e.path)

    def stat(self, path: str) -> Entry | None:
        """The entry at path, or None if nothing is there."""
        return stat(self.board, path)

    def rm(self, path: str) -> None:
        self._exec(f"__import__('os').remove({path!r})", path)

    def rmdir(self, path: str) -> None:
        self._no_folders(path)
        self._exec(f"__import__('os').rmdir({path!r})", path)

    def mkdir(self, path: str, parents: bool = False) -> None:
        self._no_folders(path)
        if not parents:
            self._exec(f"__import__('os').mkdir({path!r})", path)
            return
        parts = [p for p in path.split("/") if p]
        current = "/" if path.startswith("/") else ""
        for part in parts:
            current = f"{current}{part}" if current in ("", "/") else f"{current}/{part}"
            entry = self.stat(current)
            if entry is None:
                self._exec(f"__import__('os').mkdir({current!r})", current)
            elif not entry.is_dir:
                raise FileError(f"{current}: exists on the board and is not a folder.")

    def mv(self, src: str, dst: str) -> None:
        if self.board.caps.rename:
            self._exec(f"__import__('os').rename({src!r}, {dst!r})", src)
            return
        if self.stat(src) is None:  # no rename: copied on the board, then removed
            raise FileError(f"{src}: {ERRNO_TEXT[2]}.")
        self._replace(src, dst)

    def _replace(self, temp: str, remote: str) -> None:
        """Put `temp` in place of `remote`: renamed, or copied where os has no rename."""
        if self.board.caps.rename:
            self._exec(f"_mpk_T = {temp!r}\n_mpk_P = {remote!r}\n{helper('fs_replace')}", remote)
            return
        try:
            self._exec(f"_mpk_T = {temp!r}\n_mpk_P = {remote!r}\n{helper('fs_copy')}", remote)
        except FileError as exc:
            raise FileError(f"{exc} The complete file is kept on the board as {temp}.") from None

    def df(self, path: str = "/") -> tuple[int, int]:
        """(free bytes, total bytes) of the filesystem holding path."""
        if not self.board.caps.statvfs:
            raise FileError(f"{path}: this board cannot tell its free space (no os.statvfs).")
        try:
            v = self.board.exec_value(f"print(__import__('os').statvfs({path!r}))")
        except BoardExecError as exc:
            raise file_error(exc, path) from None
        if not (isinstance(v, tuple) and len(v) >= 4):
            raise FileError(f"{path}: the board's answer to statvfs was unreadable: {v!r:.60}")
        return v[0] * v[3], v[0] * v[2]

    def sha256(self, path: str) -> str | None:
        """The board's SHA-256 of a file, or None if the board has no hashlib."""
        if not self.board.caps.hash:
            return None
        return digest_of(self._exec(hash_code(path), path), path)

    def checksum(self, path: str) -> tuple[str, str] | None:
        """(method, value) of a file computed on the board: SHA-256, or Adler-32 where it
        has no hashlib; None if the board could not compute it (out of memory)."""
        digest = self.sha256(path)
        if digest is not None:
            return "sha256", digest
        try:
            out = self._exec(helper_call("fs_sum", f"_mpk_sum({path!r})"), path)
        except FileError:
            return None
        return "adler32", out.strip()

    def same(self, path: str, data: bytes) -> bool:
        """Whether the board's file holds `data`: by checksum, or by reading it back."""
        found = self.checksum(path)
        if found is None:
            return self.get(path)[0] == data
        return found[1] == host_checksum(found[0], data)

    # -- transfers --------------------------------------------------------------------------

    def put(
        self,
        data: bytes,
        remote: str,
        progress: Progress | None = None,
        into: str | None = None,
    ) -> Transfer:
        """Write data to `remote`, verified; nothing is left under `remote` if it fails.

        With `into`, an existing folder `remote` receives the file under that name (a
        channel that can carries that check with the data instead of a round trip first).
        """
        start = time.monotonic()
        in_mount = self.board.mount_path(remote)
        if in_mount is not None:
            return self._put_in_mount(data, remote, in_mount, into, start)
        expected = hashlib.sha256(data).hexdigest()
        done = self.channel.put(PutRequest(data, remote, expected, into, progress))
        if done.committed:  # checked and renamed on the board (or its temp removed)
            if done.digest != expected:
                raise self._mismatch(remote, "sha256")
            how = "sha256"
        else:
            try:
                how = self._verify(done.temp, data, done.path, done.digest)
            except (FileError, KeyboardInterrupt):
                with contextlib.suppress(FileError):  # no half-checked copy is left behind
                    self.rm(done.temp)
                raise
            self._replace(done.temp, done.path)
        took = time.monotonic() - start
        return Transfer(done.path, len(data), done.wire, took, done.encoding, how)

    def _mismatch(self, remote: str, how: str) -> FileError:
        return FileError(
            f"{remote}: the board's copy did not match ({how}); nothing was written. "
            + self.board.transport.retry_hint
        )

    # The mounted folder is on this computer: its files are copied here, not over the link
    # (the transfer helpers' stdin is the one the mount answers on).

    def _mounted(self, remote: str, in_mount: str) -> Path:
        mount = self.board.mount
        assert mount is not None
        try:
            return mount.folder.path(in_mount)
        except OSError:
            raise FileError(
                f"{remote}: outside the folder mounted from this computer ({mount.root})."
            ) from None

    def _put_in_mount(
        self, data: bytes, remote: str, in_mount: str, into: str | None, start: float
    ) -> Transfer:
        target = self._mounted(remote, in_mount)
        if into is not None and target.is_dir():
            target, remote = target / into, join_path(remote, into)
        if target.is_dir():
            raise FileError(f"{remote}: {ERRNO_TEXT[21]}.")
        if not target.parent.is_dir():
            raise FileError(f"{remote}: {ERRNO_TEXT[2]}.")
        write_atomically(target, data, target.with_name(f".{target.name}{TEMP_SUFFIX}"))
        if target.read_bytes() != data:
            raise FileError(f"{remote}: the copy in {target.parent} did not match.")
        took = time.monotonic() - start
        return Transfer(remote, len(data), 0, took, "mounted folder", "reading it back")

    def _get_in_mount(self, remote: str, in_mount: str, start: float) -> tuple[bytes, Transfer]:
        source = self._mounted(remote, in_mount)
        if source.is_dir():
            raise FileError(f"{remote}: {ERRNO_TEXT[21]}.")
        if not source.is_file():
            raise FileError(f"{remote}: {ERRNO_TEXT[2]}.")
        data = source.read_bytes()
        took = time.monotonic() - start
        return data, Transfer(remote, len(data), 0, took, "mounted folder", "this computer")

    def _verify(self, temp: str, data: bytes, remote: str, digest: str | None) -> str:
        """How the temporary file was found to hold `data` (`digest`: the board's, if it
        came with the send); raises where it does not."""
        digest = digest or self.sha256(temp)
        if digest is not None:
            ok, how = digest == hashlib.sha256(data).hexdigest(), "sha256"
        else:
            ok, how = self.channel.receive(temp, len(data), None).data == data, "read back"
        if not ok:
            raise self._mismatch(remote, how)
        return how

    def get(
        self, remote: str, progress: Progress | None = None, entry: Entry | None = None
    ) -> tuple[bytes, Transfer]:
        """Read a file from the board, verified by a checksum the board computes (SHA-256, or
        Adler-32 without hashlib; "none" only where it ran out of memory doing so).

        `entry`: what a stat of `remote` just found (saves asking again).
        """
        start = time.monotonic()
        in_mount = self.board.mount_path(remote)
        if in_mount is not None:
            return self._get_in_mount(remote, in_mount, start)
        if entry is None or entry.path != remote:
            entry = self.stat(remote)
        if entry is None:
            raise FileError(f"{remote}: {ERRNO_TEXT[2]}.")
        if entry.is_dir:
            raise FileError(f"{remote}: {ERRNO_TEXT[21]}.")
        got = self.channel.receive(remote, entry.size, progress)
        data = got.data
        found = ("sha256", got.digest) if got.digest else self.checksum(remote)
        if found is not None and found[1] != host_checksum(found[0], data):
            raise FileError(
                f"{remote}: the copy read did not match the board's {found[0]}. "
                + self.board.transport.retry_hint
            )
        return data, Transfer(
            remote, len(data), got.wire, time.monotonic() - start, got.encoding,
            found[0] if found else "none",
        )  # fmt: skip


def host_checksum(method: str, data: bytes) -> str:
    """The checksum `method` ("sha256" or "adler32") of data, as the board's helper prints it."""
    if method == "sha256":
        return hashlib.sha256(data).hexdigest()
    value = zlib.adler32(data)
    return f"{value & 0xFFFF} {value >> 16}"
