"""Files on the board: listing, moving, and verified transfers in both directions.

Transfers stream the file through the running helper's stdin/stdout in small frames
(raw bytes where the board allows, else base64, else hex), compressed with deflate when
the board can inflate and it pays off. Every transfer is verified by SHA-256 on the board
(or by reading back where the board has no hashlib), and a put writes a temporary file
that is renamed only once verified.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import re
import time
import zlib
from binascii import a2b_base64, b2a_base64
from collections.abc import Callable
from dataclasses import dataclass

from .helpers import helper
from .session import Board, BoardExecError

Progress = Callable[[int, int], None]  # (bytes done, bytes total)

RAW, BASE64, HEX = 0, 1, 2
FRAME = {RAW: 120, BASE64: 90, HEX: 60}  # payload bytes per frame: <= 120 on the wire
WINDOW = 2  # frames in flight: 2 x 122 bytes fits a 256-byte stdin buffer
DEFLATE_WBITS = 10  # a 1 KB window: affordable on an ESP8266
TEMP_SUFFIX = ".mpk-part"
TINY_HEAP = 12_000  # below this much free heap, use the per-chunk tier
TINY_CHUNK = 48  # bytes per exec in the per-chunk tier (a literal of <= 192 chars)

_ERRNO = {
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


class FileError(Exception):
    """A file operation failed; the message is one line that says what happened."""


@dataclass
class Entry:
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
    verified: str  # "sha256" or "read back"

    @property
    def rate(self) -> float:
        return self.size / self.seconds if self.seconds > 0 else 0.0


def _helper_call(name: str, call: str) -> str:
    """Helper `name`'s code, then `call`; the helper's function is deleted afterwards."""
    func = call.split("(", 1)[0]
    return f"{helper(name)}\ntry:\n    {call}\nfinally:\n    del {func}\n"


def _join_path(folder: str, name: str) -> str:
    if not folder:
        return name
    return folder + name if folder.endswith("/") else f"{folder}/{name}"


def errno_of(exc: BoardExecError) -> int | None:
    """The errno of an OSError raised on the board, if that is what it was."""
    if exc.ename != "OSError":
        return None
    m = re.search(r"\[Errno (\d+)\]|^(\d+)$|\b(E[A-Z]+)\b", exc.evalue)
    if not m:
        return None
    if m.group(1) or m.group(2):
        return int(m.group(1) or m.group(2))
    return _ERRNO_NAMES.get(m.group(3))


def file_error(exc: BoardExecError, path: str) -> FileError:
    """One line for a failed operation on `path`."""
    code = errno_of(exc)
    if code in _ERRNO:
        return FileError(f"{path}: {_ERRNO[code]}.")
    if exc.ename == "MemoryError":
        return FileError(f"{path}: the board ran out of memory (free some, or %reset).")
    return FileError(f"{path}: {exc}")


class BoardFiles:
    """File operations on one connected board."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.repl = board.repl

    # -- asking the board -----------------------------------------------------------------

    def _call(self, name: str, call: str, path: str) -> str:
        """Run helper `name`, calling it as `call`; the helper's names are deleted after."""
        return self._exec(_helper_call(name, call), path)

    def _exec(self, code: str, path: str) -> str:
        try:
            return self.board.exec_capture(code)
        except BoardExecError as exc:
            raise file_error(exc, path) from None

    def _has(self, module: str, attr: str) -> bool:
        """Whether the board can import module and it has attr (one tiny exec each)."""
        try:
            out = self.board.exec_capture(
                f"import {module}\nprint(int(hasattr({module}, {attr!r})))\ndel {module}"
            )
        except BoardExecError:
            return False
        return out.strip() == "1"

    def caps(self) -> dict[str, object]:
        """What the board offers (asked once per connection, in execs small enough for 2 KB)."""
        cached = getattr(self.board, "_fs_caps", None)
        if cached is None:
            raw = self._has("micropython", "kbd_intr") and self._has("sys", "stdin")
            raw = (
                raw
                and self._exec(
                    "import sys\nprint(int(hasattr(sys.stdin, 'buffer')))", "board"
                ).strip()
                == "1"
            )
            try:
                free = self.board.free_heap()
            except BoardExecError as exc:
                raise file_error(exc, "board") from None
            cached = {
                "raw": raw,
                "b64": self._has("binascii", "a2b_base64"),
                "hash": self._has("hashlib", "sha256"),
                "inflate": self._has("deflate", "DeflateIO") and self._has("io", "IOBase"),
                "free": free,
            }
            # Binary-clean stdout? (A PTY with output processing turns \n into \r\n.)
            cached["raw_out"] = (
                raw and self._exec("import sys\nsys.stdout.buffer.write(b'\\n')", "board") == "\n"
            )
            self.board._fs_caps = cached  # type: ignore[attr-defined]
            if cached["free"] < TINY_HEAP:  # plain raw mode holds all the code in RAM first
                self.repl.small_code = 0
        return cached

    @property
    def tiny(self) -> bool:
        """Too little heap for the streaming helpers: one small exec per chunk instead."""
        return int(self.caps()["free"]) < TINY_HEAP  # type: ignore[call-overload]

    def ls(self, path: str = "", recursive: bool = False) -> list[Entry]:
        """Entries under path ("" is the current folder; a file lists itself)."""
        if path:
            top = self.stat(path)
            if top is None:
                raise FileError(f"{path}: {_ERRNO[2]}.")
            if not top.is_dir:
                return [top]
        entries = []
        out = self._exec(f"P = {path!r}\n{helper('fs_ls')}", path or ".")
        for line in out.splitlines():
            if line.strip():
                name, is_dir, size = ast.literal_eval(line)
                entry = Entry(_join_path(path, name), is_dir, size)
                entries.append(entry)
                if recursive and is_dir:
                    entries.extend(self.ls(entry.path, recursive=True))
        return sorted(entries, key=lambda e: e.path)

    def stat(self, path: str) -> Entry | None:
        """The entry at path, or None if nothing is there."""
        code = f"import os\ntry:\n    s = os.stat({path!r})\n    print(repr((s[0] & 0x4000 != 0, s[6])))\nexcept OSError:\n    print('None')\nelse:\n    del s"  # noqa: E501
        found = ast.literal_eval(self._exec(code, path).strip())
        return Entry(path, *found) if found else None

    def rm(self, path: str) -> None:
        self._exec(f"import os\nos.remove({path!r})", path)

    def rmdir(self, path: str) -> None:
        self._exec(f"import os\nos.rmdir({path!r})", path)

    def mkdir(self, path: str, parents: bool = False) -> None:
        if not parents:
            self._exec(f"import os\nos.mkdir({path!r})", path)
            return
        parts = [p for p in path.split("/") if p]
        current = "/" if path.startswith("/") else ""
        for part in parts:
            current = f"{current}{part}" if current in ("", "/") else f"{current}/{part}"
            entry = self.stat(current)
            if entry is None:
                self._exec(f"import os\nos.mkdir({current!r})", current)
            elif not entry.is_dir:
                raise FileError(f"{current}: exists on the board and is not a folder.")

    def mv(self, src: str, dst: str) -> None:
        self._exec(f"import os\nos.rename({src!r}, {dst!r})", src)

    def df(self, path: str = "/") -> tuple[int, int]:
        """(free bytes, total bytes) of the filesystem holding path."""
        out = self._exec(f"import os\nprint(os.statvfs({path!r}))", path)
        v = ast.literal_eval(out.strip())
        return v[0] * v[3], v[0] * v[2]

    def sha256(self, path: str) -> str | None:
        """The board's SHA-256 of a file, or None if the board has no hashlib."""
        if not self.caps().get("hash"):
            return None
        return self._call("fs_hash", f"_mpk_hash({path!r})", path).strip()

    # -- transfers --------------------------------------------------------------------------

    def _encoding(self, sending: bool = True) -> int:
        """How payload bytes travel: raw where the direction is binary-clean."""
        caps = self.caps()
        raw = caps.get("raw") if sending else caps.get("raw_out")
        return RAW if raw else BASE64 if caps.get("b64") else HEX

    def put(self, data: bytes, remote: str, progress: Progress | None = None) -> Transfer:
        """Write data to `remote`, verified; nothing is left under `remote` if it fails."""
        start = time.monotonic()
        if self.board.kind == "webrepl":  # the firmware's own binary file protocol
            temp, wire, encoding = self._webrepl_put(data, remote, progress)
        else:
            temp, wire, encoding = self._helper_put(data, remote, progress)
        verified = self._verify(temp, data, remote)
        self._exec(
            f"import os\ntry:\n    os.remove({remote!r})\nexcept OSError:\n    pass\n"
            f"os.rename({temp!r}, {remote!r})",
            remote,
        )
        return Transfer(remote, len(data), wire, time.monotonic() - start, encoding, verified)

    def _helper_put(
        self, data: bytes, remote: str, progress: Progress | None
    ) -> tuple[str, int, str]:
        """Send data to a temporary name through the raw REPL: (that name, wire bytes, how)."""
        enc = self._encoding()
        payload, wbits = data, 0
        caps = self.caps()
        if caps.get("inflate") and len(data) >= 256 and int(caps.get("free", 0)) > 16_000:
            packer = zlib.compressobj(9, zlib.DEFLATED, -DEFLATE_WBITS)
            packed = packer.compress(data) + packer.flush()
            if len(packed) < 0.9 * len(data):
                payload, wbits = packed, DEFLATE_WBITS
        temp = remote + TEMP_SUFFIX
        if self.tiny:
            payload, wbits = data, 0
            wire = self._put_chunks(data, temp, progress, remote)
            enc = 3
        else:
            wire = self._stream_put(payload, temp, enc, wbits, len(data), progress, remote)
        return temp, wire, ["raw", "base64", "hex", "literal"][enc] + ("+deflate" if wbits else "")

    def _webrepl_put(
        self, data: bytes, remote: str, progress: Progress | None
    ) -> tuple[str, int, str]:
        """Send data to a temporary name with WebREPL's PUT: (that name, wire bytes, how)."""
        from . import webrepl_files

        temp = webrepl_files.temp_name(remote)
        webrepl_files.check_folder(self, remote)
        wire, interrupted = webrepl_files.send_file(self, data, temp, progress)
        if interrupted:
            with contextlib.suppress(Exception):
                self.rm(temp)
            raise KeyboardInterrupt
        return temp, wire, "webrepl"

    def _put_chunks(self, data: bytes, temp: str, progress: Progress | None, remote: str) -> int:
        """The small-heap tier: one tiny exec per chunk, as bytes literals."""
        self._exec(f"_f = open({temp!r}, 'wb')", remote)
        wire = 0
        try:
            for i in range(0, len(data), TINY_CHUNK):
                line = f"_f.write({data[i : i + TINY_CHUNK]!r})"
                self._exec(line, remote)
                wire += len(line)
                if progress:
                    progress(min(i + TINY_CHUNK, len(data)), len(data))
        except (FileError, KeyboardInterrupt):
            self._exec(f"_f.close()\ndel _f\nimport os\nos.remove({temp!r})", remote)
            raise
        self._exec("_f.close()\ndel _f", remote)
        return wire

    def _get_chunks(self, remote: str, size: int, progress: Progress | None) -> tuple[bytes, int]:
        """The small-heap tier: one tiny exec per chunk, read back as bytes literals."""
        self._exec(f"_f = open({remote!r}, 'rb')", remote)
        data = bytearray()
        wire = 0
        try:
            while True:
                out = self._exec(f"print(repr(_f.read({TINY_CHUNK})))", remote)
                wire += len(out)
                chunk = ast.literal_eval(out.strip())
                if not chunk:
                    break
                data += chunk
                if progress:
                    progress(len(data), size)
        finally:
            self._exec("_f.close()\ndel _f", remote)
        return bytes(data), wire

    def _frames(self, payload: bytes, enc: int) -> list[bytes]:
        step = FRAME[enc]
        frames = []
        for i in range(0, len(payload), step):
            chunk = payload[i : i + step]
            if enc == RAW:
                frames.append(len(chunk).to_bytes(2, "big") + chunk)
            else:
                text = b2a_base64(chunk, newline=False) if enc == BASE64 else chunk.hex().encode()
                frames.append(b"%03x" % len(text) + text)
        return frames

    def _stream_put(
        self,
        payload: bytes,
        temp: str,
        enc: int,
        wbits: int,
        size: int,
        progress: Progress | None,
        remote: str,
    ) -> int:
        """Send the payload to the running fs_put helper; returns bytes put on the wire."""
        self._start_helper("fs_put", f"_mpk_put({temp!r}, {enc}, {wbits})", remote)
        frames = self._frames(payload, enc)
        end = (0).to_bytes(2, "big") if enc == RAW else b"000"
        abort = b"\xff\xff" if enc == RAW else b"fff"
        inflight = sent = wire = 0
        failed = interrupted = False
        try:
            for frame in frames:
                while inflight >= WINDOW and not failed:
                    failed = self._ack() != b"#"
                    inflight -= 1
                if failed:
                    break
                self.repl.transport.write(frame)
                wire += len(frame)
                inflight += 1
                sent += 1
                if progress:
                    progress(min(size, size * sent // max(len(frames), 1)), size)
        except KeyboardInterrupt:
            interrupted = True
        self.repl.transport.write(abort if interrupted else end)
        out = bytearray()
        result = self.repl.follow(out.extend, interrupted=False)
        if result.error:
            self._raise_error_text(result.error, remote)
        if interrupted:
            raise KeyboardInterrupt
        return wire

    def _ack(self) -> bytes:
        ack = self.repl.read_exact(1, timeout=10)
        if ack not in (b"#", b"!"):
            self.repl.unread(ack)
            return b"?"
        return ack

    def _raise_from_follow(self, path: str) -> None:
        """The helper stopped before it was ready: read its traceback and raise it."""
        out = bytearray()
        self._raise_error_text(self.repl.follow(out.extend).error or "OSError", path)

    def _verify(self, temp: str, data: bytes, remote: str) -> str:
        digest = self.sha256(temp)
        if digest is not None:
            ok, how = digest == hashlib.sha256(data).hexdigest(), "sha256"
        else:
            ok, how = self._receive(temp, len(data), None)[0] == data, "read back"
        if not ok:
            self.rm(temp)
            raise FileError(
                f"{remote}: the board's copy did not match ({how}); nothing was written. "
                + (
                    "Try again (a weak WiFi link?)."
                    if self.board.kind == "webrepl"
                    else "Check the cable and try again."
                )
            )
        return how

    def get(self, remote: str, progress: Progress | None = None) -> tuple[bytes, Transfer]:
        """Read a file from the board, verified by SHA-256 where the board can hash."""
        start = time.monotonic()
        entry = self.stat(remote)
        if entry is None:
            raise FileError(f"{remote}: {_ERRNO[2]}.")
        if entry.is_dir:
            raise FileError(f"{remote}: {_ERRNO[21]}.")
        data, wire = self._receive(remote, entry.size, progress)
        digest = self.sha256(remote)
        if digest is not None and digest != hashlib.sha256(data).hexdigest():
            raise FileError(f"{remote}: the copy read did not match the board's SHA-256.")
        if self.board.kind == "webrepl":
            encoding = "webrepl"
        else:
            encoding = ["raw", "base64", "hex", "literal"][
                3 if self.tiny else self._encoding(sending=False)
            ]
        return data, Transfer(
            remote, len(data), wire, time.monotonic() - start, encoding,
            "sha256" if digest else "none",
        )  # fmt: skip

    def _receive(self, remote: str, size: int, progress: Progress | None) -> tuple[bytes, int]:
        """A file's bytes by the link's own way (WebREPL's GET, else a helper); and wire bytes."""
        if self.board.kind == "webrepl":
            from . import webrepl_files

            return webrepl_files.receive_file(self, remote, size, progress)
        return self._stream_get(remote, size, progress)

    def _stream_get(self, remote: str, size: int, progress: Progress | None) -> tuple[bytes, int]:
        """Receive a file from the running fs_get helper; returns (data, wire bytes)."""
        if self.tiny:
            return self._get_chunks(remote, size, progress)
        enc = self._encoding(sending=False)
        self._start_helper("fs_get", f"_mpk_get({remote!r}, {enc})", remote)
        data = bytearray()
        wire = 0
        while True:
            if enc == RAW:
                n = int.from_bytes(self.repl.read_exact(2, timeout=10), "big")
            else:
                n = int(self.repl.read_exact(3, timeout=10), 16)
            if n == 0:
                break
            chunk = self.repl.read_exact(n, timeout=10)
            wire += n + (2 if enc == RAW else 3)
            data += (
                chunk
                if enc == RAW
                else a2b_base64(chunk)
                if enc == BASE64
                else bytes.fromhex(chunk.decode())
            )
            if progress:
                progress(len(data), size)
        out = bytearray()
        result = self.repl.follow(out.extend)
        if result.error:
            self._raise_error_text(result.error, remote)
        return bytes(data), wire

    def _start_helper(self, name: str, call: str, path: str) -> None:
        """Start a streaming helper; it answers R when ready (else its error is raised)."""
        self.repl.send(_helper_call(name, call).encode())
        ready = self.repl.read_exact(1, timeout=10)
        if ready != b"R":
            self.repl.unread(ready)
            self._raise_from_follow(path)

    def _raise_error_text(self, text: str, path: str) -> None:
        last = (text.strip().splitlines() or ["Error"])[-1]
        ename, _, value = last.partition(":")
        raise file_error(BoardExecError(ename.strip(), value.strip()), path)
