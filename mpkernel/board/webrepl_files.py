"""%put/%get over WebREPL's binary file protocol (the firmware writes and reads the files).

Only the protocol lives here (a FileChannel); BoardFiles keeps the temporary name, the
verification and the rename.
Header `<2sBBQLH64s`: b"WA", op (1 put, 2 get), flags, offset, size, name length,
name (at most 63 bytes). Replies `<2sH`: b"WB", status (0 = ok). A put streams exactly `size`
bytes after the first WB; a get asks for each chunk with one b"\\x00" and receives `<H len>`
+ data until len is 0. A failed open on the board ends the whole WebREPL session, so paths
are checked through the raw REPL first. Puts go to a temporary name, are verified by SHA-256
on the board (or read back where it has no hashlib) and renamed, as over serial.
"""

from __future__ import annotations

import ast
import contextlib
import struct
import time
from typing import TYPE_CHECKING, NamedTuple

from .channel import (
    TEMP_SUFFIX,
    Entry,
    FileChannel,
    FileError,
    Progress,
    PutOutcome,
    PutRequest,
    Received,
    check_helper,
    digest_of,
    entry_of,
    hash_code,
    join_path,
    stat,
    stat_code,
    target_of,
)
from .helpers import packed
from .links.webrepl import LinkStalled, WebReplTransport

if TYPE_CHECKING:
    from .session import Board

HEADER = struct.Struct("<2sBBQLH64s")
REPLY = struct.Struct("<2sH")
PUT, GET = 1, 2
NAME_MAX = 63
PUT_FRAME = 1024
#: A transfer stops when nothing moves on the link for this long (a board out of range).
STALL = 5.0
#: Bytes a PUT keeps in flight: several bandwidth-delay products of a good WiFi link (the
#: board's own TCP window, ~5.8 KB on an ESP8266, is what paces it).
SEND_AHEAD = 64 * 1024
GET_CHUNK = 256  # the firmware's chunk per request
#: GET requests in flight, first (sent with the header) and at most. The window is sized to
#: the bandwidth-delay product: the round trip the header took times GET_RATE, a rate no
#: WebREPL board exceeds. The board holds only the request bytes (one each) and its own TCP
#: send buffer: the window costs it no heap.
GET_WINDOW = 32
GET_WINDOW_MAX = 256
GET_RATE = 1_000_000  # bytes/s
GET_BATCH = 8  # requests per frame at least: few small frames for the board's buffers
#: Drops fs_commit's function where no call behind the data did (an interrupted put).
FORGET_COMMIT = "globals().pop('_mpk_commit', None)"


def commit_call(temp: str, remote: str, digest: str, into: str | None) -> str:
    """The command behind a put's data: where `into` is given and `remote` is a folder, the
    file goes inside it; fs_commit's function checks and renames, prints (digest, path).
    Written tight: with the names it must fit one frame (os through __import__: a user's
    `os` stays theirs; bit 14 of a stat's mode: a folder)."""
    if into is None:  # no name of its own on the board: the path goes as a literal
        return f"try:print(_mpk_commit({temp!r},{remote!r},'{digest}'))\nfinally:del _mpk_commit\n"
    return (
        f"_mpk_P={remote!r}\n"
        f"try:_mpk_P+={'/' + into!r}*(__import__('os').stat(_mpk_P)[0]>>14&1)\nexcept:pass\n"
        f"try:print(_mpk_commit({temp!r},_mpk_P,'{digest}'))\nfinally:del _mpk_commit,_mpk_P\n"
    )


class _Sent(NamedTuple):
    """What a PUT's exchange brought back, beside the bytes it put on the wire."""

    wire: int
    committed: tuple[str, str] | None  # (the board's SHA-256, the path written)
    digest: str | None  # the board's SHA-256 of the temporary file
    entry: Entry | None  # what the stat ahead of the header found


def _name(path: str) -> bytes:
    raw = path.encode("utf-8")
    if len(raw) > NAME_MAX:
        raise FileError(
            f"{path}: the path is {len(raw)} bytes, WebREPL's file transfer takes at most "
            f"{NAME_MAX}: use a shorter name or folder (nothing was sent)."
        )
    return raw


def _header(op: int, path: bytes, size: int = 0) -> bytes:
    return HEADER.pack(b"WA", op, 0, 0, size, len(path), path)


def _expect_ok(link: WebReplTransport, path: str, what: str, timeout: float = STALL) -> None:
    magic, status = REPLY.unpack(link.read_binary(REPLY.size, timeout))
    if magic != b"WB" or status != 0:
        raise FileError(f"{path}: the board refused to {what} it (WebREPL status {status}).")


def _ok_uninterrupted(link: WebReplTransport, path: str, what: str, timeout: float) -> bool:
    """Wait for the board's `WB 0` even through Ctrl-C; return whether Ctrl-C came."""
    interrupted = False
    while True:
        try:
            _expect_ok(link, path, what, timeout)
            return interrupted
        except KeyboardInterrupt:
            interrupted = True


def _wait_sent(link: WebReplTransport, ahead: int) -> None:
    """Until at most `ahead` bytes are unacknowledged; LinkStalled if none leave for STALL s.

    Where the send queue cannot be seen (not Linux), returns at once: the reply that ends
    the transfer is then awaited for longer instead.
    """
    left = link.unsent()
    if left is None:
        return
    end = time.monotonic() + STALL
    while left > ahead:
        if time.monotonic() > end:
            raise LinkStalled(f"nothing left for {STALL:g} s")
        time.sleep(0.005)
        now = link.unsent()
        if now is None:
            return
        if now < left:
            end = time.monotonic() + STALL
        left = now


def _reply_timeout(link: WebReplTransport, size: int) -> float:
    """How long the reply after the last byte may take: STALL once the board has taken every
    byte; where that cannot be seen, time for `size` bytes at a slow WiFi's 4 KB/s too."""
    return STALL if link.unsent() is not None else STALL + size / 4096


def window_for(rtt: float) -> int:
    """GET requests to keep in flight for a link with this round trip (seconds)."""
    return max(GET_WINDOW, min(GET_WINDOW_MAX, int(rtt * GET_RATE / GET_CHUNK) + 1))


class WebReplChannel(FileChannel):
    """WebREPL's PUT and GET: the firmware itself writes and reads the file."""

    def __init__(self, board: Board, link: WebReplTransport) -> None:
        super().__init__(board)
        self.link = link

    def temp_name(self, remote: str) -> str:
        """A temporary name next to `remote` that fits WebREPL's 63 bytes."""
        _name(remote)
        temp = remote + TEMP_SUFFIX
        if len(temp.encode()) <= NAME_MAX:
            return temp
        parent = remote.rsplit("/", 1)[0] + "/" if "/" in remote else ""
        temp = parent + TEMP_SUFFIX
        _name(temp)
        return temp

    def put(self, request: PutRequest) -> PutOutcome:
        """PUT the bytes with what can travel along: the check and rename on the board
        (fs_commit) where it can take them, else the stat that `into` needs just ahead of
        the header and the SHA-256 command behind the data."""
        remote = request.remote
        temp = self.temp_name(remote)
        self._check_folder(remote)  # before anything is planned along with the send
        commit = self._plan_commit(temp, remote, request.digest, request.into)
        ahead = None
        if request.into is not None and commit is None:
            ahead = self._plan_stat(remote)
            if ahead is None:  # too long to travel along: a round trip first
                remote = target_of(self.board, request)
                temp = self.temp_name(remote)
        sent = self._send(request.data, temp, remote, request.progress, commit, ahead)
        if sent.committed is not None:  # checked and renamed on the board
            digest, path = sent.committed
            return PutOutcome(sent.wire, "webrepl", path, temp, committed=True, digest=digest)
        if request.into is not None and (ahead or commit):
            # The stat that went ahead, or (the board could not take the check) one now.
            entry = sent.entry if ahead else stat(self.board, remote)
            if entry is not None and entry.is_dir:
                remote = join_path(remote, request.into)
        return PutOutcome(sent.wire, "webrepl", remote, temp, digest=sent.digest)

    def _check_folder(self, remote: str) -> None:
        """The firmware cannot report a missing folder (the session would end): check first."""
        parent = remote.rstrip("/").rsplit("/", 1)[0] if "/" in remote.strip("/") else ""
        if not parent:
            return
        entry = stat(self.board, parent)
        if entry is None or not entry.is_dir:
            raise FileError(f"{remote}: no folder {parent} on the board (create it with %mkdir).")

    def _plan_stat(self, path: str) -> tuple[str, bytes] | None:
        """The stat as a command to go just ahead of the PUT header (no round trip first);
        None where it does not fit one frame."""
        code = self.repl.queued(stat_code(path).encode())
        return None if code is None else (path, code)

    def _plan_commit(
        self, temp: str, remote: str, digest: str, into: str | None
    ) -> tuple[bytes, bytes] | None:
        """fs_commit's function, to go just ahead of the PUT header, and one short command
        calling it right behind the data: the board checks the SHA-256 and renames `temp`
        over `remote` (or `remote`/`into` where `remote` is a folder) with no round trip of
        its own. None where the board lacks what it needs or a command would not fit one
        frame (long names)."""
        caps = self.board.caps
        if not (caps.hash and caps.rename and caps.folders):
            return None
        define = self.repl.queued(packed("fs_commit").encode())
        call = self.repl.queued(commit_call(temp, remote, digest, into).encode())
        if define is None or call is None:
            return None
        return define, call

    def _command_result(self, path: str, kept: str) -> str:
        """The output of a command that travelled with the transfer."""
        out = bytearray()
        try:
            result = self.repl.follow_queued(out.extend, STALL)
        except TimeoutError:
            raise self._stalled(path, kept) from None
        check_helper(result, path)
        return out.decode("utf-8", "replace")

    def _stalled(self, path: str, kept: str) -> FileError:
        """The link stopped carrying bytes mid-transfer: drop it (the board is out of step)."""
        self.link.close()
        return FileError(
            f"{path}: the WebREPL link to {self.link.where} stalled (nothing moved for "
            f"{STALL:g} s), so the transfer stopped: {kept}. Run %connect to reconnect."
        )

    def _hash_command(self, path: str) -> bytes:
        """The SHA-256 command for `path` as one plain raw-mode write, to travel with a
        transfer (b"" when it is too long for one, or the board has no hashlib)."""
        if not self.board.caps.hash:
            return b""
        return self.repl.queued(hash_code(path).encode()) or b""

    def _hash_result(self, path: str, kept: str) -> str:
        """The board's SHA-256 from a command that travelled with the transfer."""
        return digest_of(self._command_result(path, kept), path)

    def _send(
        self,
        data: bytes,
        temp: str,
        remote: str,
        progress: Progress | None,
        commit: tuple[bytes, bytes] | None,
        ahead: tuple[str, bytes] | None,
    ) -> _Sent:
        """PUT `data` as `temp`; an interrupted put is filled up, removed, and re-raised.

        The data follows the header at once (a refused open ends the session either way).
        Commands travel with it, each one plain raw-mode frame with its probe, so that their
        answers come back with the board's reply: ahead of the header the stat (`ahead`)
        or fs_commit's function (`commit`), behind the data the SHA-256 command or the call
        that checks and renames.
        So a put takes one round trip beyond its bytes. The command behind goes only once
        the one ahead has answered: the REPL's stdin (256 bytes on an ESP8266) then never
        holds both. At most SEND_AHEAD bytes are in flight, so a link that stops carrying
        them is noticed within STALL seconds (the link is then closed, `remote` unchanged).
        """
        link = self.link
        name = _name(temp)
        kept = f"{remote} on the board is unchanged"
        entry: Entry | None = None
        committed: tuple[str, str] | None = None
        digest: str | None = None
        if commit:
            ahead, command = ("", commit[0]), commit[1]
        else:
            command = self._hash_command(temp)
        failed: FileError | None = None
        link.clear_binary()
        head = _header(PUT, name, len(data))
        wire = len(head)
        interrupted = False
        pos = 0
        try:
            if ahead:
                link.write(ahead[1])  # the board runs it while the data arrives
            link.write_binary(head)
            while pos < len(data):
                try:
                    if not interrupted:
                        _wait_sent(link, SEND_AHEAD)
                    chunk = data[pos : pos + PUT_FRAME] if not interrupted else bytes(PUT_FRAME)
                    chunk = chunk[: len(data) - pos]
                    link.write_binary(chunk)
                    pos += len(chunk)
                    wire += len(chunk)
                    if progress and not interrupted:
                        progress(pos, len(data))
                except KeyboardInterrupt:
                    # The board expects exactly `size` bytes: zeros fill up, then removal.
                    interrupted = True
            if ahead:  # its answer came while the data went (read before the next command)
                try:
                    out = self._command_result(remote, kept)
                    if not commit:
                        entry = entry_of(ahead[0], out)
                except FileError as exc:  # the board's reply still comes: finish first
                    failed, command = exc, b""
                if commit and failed:  # no function to call: verify and rename as usual
                    failed, commit, command = None, None, self._hash_command(temp)
            if command and not interrupted:
                link.write(command)
            else:
                command = b""
            interrupted |= _ok_uninterrupted(link, remote, "write", STALL)
            _wait_sent(link, 0)
            interrupted |= _ok_uninterrupted(link, remote, "write", _reply_timeout(link, len(data)))
        except LinkStalled:
            raise self._stalled(remote, kept) from None
        if commit and command:
            committed = self._commit_result(temp, remote, kept)
        elif command:
            digest = self._hash_result(remote, kept)
        if failed is not None and not interrupted:
            raise failed
        if interrupted and not committed:
            with contextlib.suppress(FileError):  # the interruption matters more
                self.run(f"__import__('os').remove({temp!r})\n{FORGET_COMMIT}", remote)
            raise KeyboardInterrupt
        return _Sent(wire, committed, digest, entry)

    def _commit_result(self, temp: str, remote: str, kept: str) -> tuple[str, str]:
        """(digest, path written) from the call behind the data; a failed call leaves no
        temporary file."""
        try:
            out = self._command_result(remote, kept)
            found = ast.literal_eval(out.strip())
            digest, path = found
        except FileError:
            with contextlib.suppress(FileError):
                self.run(f"__import__('os').remove({temp!r})", remote)
            raise
        except (ValueError, SyntaxError, TypeError):
            raise FileError(
                f"{remote}: the board's answer to the check was unreadable: {out.strip()[:60]!r}"
            ) from None
        return digest, path

    def receive(self, remote: str, size: int, progress: Progress | None) -> Received:
        """GET `remote` (expected to hold `size` bytes).

        The firmware answers each request byte with one chunk of up to 256 bytes; requests
        go out ahead (a window sized to the bandwidth-delay product, in batches), so the
        chunks stream at the link's rate instead of one per round trip. Exactly as many
        requests are sent as the file needs (plus one for the empty chunk that ends it): one
        too many would start a header. The SHA-256 command follows the last request, so the
        board's digest comes right after the file.
        """
        link = self.link
        name = _name(remote)
        kept = "nothing was written on this computer"
        command = self._hash_command(remote)
        link.clear_binary()
        need = -(-size // GET_CHUNK) + 1  # chunks, with the empty one that ends the file
        data = bytearray()
        wire = sent = got = 0
        interrupted = False

        def ask(count: int, first: bytes = b"") -> None:
            """Send `count` requests (behind `first`); the command follows the last one."""
            nonlocal sent, wire, command
            link.write_binary(first + bytes(count))
            sent += count
            wire += len(first) + count
            if sent >= need and command:
                link.write(command)
                command = b""

        then = command
        try:
            started = time.monotonic()
            ask(min(need, GET_WINDOW), _header(GET, name))  # requests may follow at once
            interrupted = _ok_uninterrupted(link, remote, "read", STALL)
            window = window_for(time.monotonic() - started)
            batch = max(GET_BATCH, window // 4)
            while True:
                try:
                    if sent < need and sent - got <= window - batch:
                        ask(min(need - sent, batch))
                    elif sent == got:  # the file grew since it was measured: one more
                        need += 1
                        ask(1)
                    (n,) = struct.unpack("<H", link.read_binary(2, STALL))
                    got += 1
                    wire += 2
                    if n == 0:
                        break
                    data += link.read_binary(n, STALL)
                    wire += n
                    if progress and not interrupted:
                        progress(len(data), size)
                except KeyboardInterrupt:
                    interrupted = True  # finish the exchange so the session stays usable
            if sent != got:
                # The file shrank: the spare requests would start a header. Start afresh.
                link.close()
                raise FileError(
                    f"{remote}: the file changed on the board while it was read; run "
                    "%connect to reconnect, then %get again."
                )
            if command:
                link.write(command)
            interrupted |= _ok_uninterrupted(link, remote, "read", STALL)
        except LinkStalled:
            raise self._stalled(remote, kept) from None
        digest = self._hash_result(remote, kept) if then else None
        if interrupted:
            raise KeyboardInterrupt
        return Received(bytes(data), wire, "webrepl", digest)
