"""File channels over the raw REPL: streaming helpers, or one tiny exec per chunk.

The streaming helpers (helpers/fs_put.py, fs_get.py) move the file through stdin/stdout in
small frames: raw bytes where the board allows, else base64, else hex, compressed with
deflate when the board can inflate and it pays off. Boards with a tiny heap get one exec
per 48-byte chunk instead, as bytes literals.
"""

from __future__ import annotations

import ast
import contextlib
import zlib
from abc import abstractmethod
from binascii import a2b_base64, b2a_base64

from .channel import (
    FileChannel,
    FileError,
    Progress,
    PutOutcome,
    PutRequest,
    Received,
    check_helper,
    error_text_to_file_error,
    target_of,
)
from .helpers import helper_call
from .repl.rawrepl import HELPER_SILENCE

RAW, BASE64, HEX = 0, 1, 2
ENCODINGS = ["raw", "base64", "hex"]
FRAME = {RAW: 120, BASE64: 90, HEX: 60}  # payload bytes per frame: <= 120 on the wire
WINDOW = 2  # frames in flight: 2 x 122 bytes fits a 256-byte stdin buffer
DEFLATE_WBITS = 10  # a 1 KB window: affordable on an ESP8266
DEFLATE_HEAP = 16_000  # inflating needs this much free heap
TINY_CHUNK = 48  # bytes per exec in the per-chunk tier (a literal of <= 192 chars)
#: The per-chunk tier's code: open (after a collection), one call per chunk, close.
TINY_OPEN = (
    "__import__('gc').collect()\n_mpk_f = open({path!r}, {mode!r})\n{name} = _mpk_f.{method}"
)
TINY_WRITE = "_w({chunk!r})"
TINY_READ = f"print(_r({TINY_CHUNK}))"  # a bytes prints as its repr


class ReplChannel(FileChannel):
    """A channel over the raw REPL: a stat first where `into` asks for one, then the bytes;
    BoardFiles verifies and renames the temporary file."""

    def put(self, request: PutRequest) -> PutOutcome:
        remote = target_of(self.board, request)
        temp = self.temp_name(remote)
        wire, encoding = self.send(request.data, temp, remote, request.progress)
        return PutOutcome(wire, encoding, remote, temp)

    @abstractmethod
    def send(
        self, data: bytes, temp: str, remote: str, progress: Progress | None
    ) -> tuple[int, str]:
        """Write data to `temp`: (bytes on the wire, how they travelled)."""


class StreamChannel(ReplChannel):
    """The fs_put / fs_get helpers, streaming frames through the raw REPL."""

    def _encoding(self, sending: bool) -> int:
        """How payload bytes travel: raw where the direction is binary-clean."""
        caps = self.board.caps
        raw = caps.raw_in if sending else caps.raw_out
        return RAW if raw else BASE64 if caps.b64 else HEX

    def send(
        self, data: bytes, temp: str, remote: str, progress: Progress | None
    ) -> tuple[int, str]:
        enc = self._encoding(sending=True)
        payload, wbits = data, 0
        caps = self.board.caps
        if caps.inflate and len(data) >= 256 and caps.free > DEFLATE_HEAP:
            packer = zlib.compressobj(9, zlib.DEFLATED, -DEFLATE_WBITS)
            packed = packer.compress(data) + packer.flush()
            if len(packed) < 0.9 * len(data):
                payload, wbits = packed, DEFLATE_WBITS
        wire = self._stream_put(payload, temp, enc, wbits, len(data), progress, remote)
        return wire, ENCODINGS[enc] + ("+deflate" if wbits else "")

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
            if self.repl.transport.write_windowed(frames, WINDOW, b"#"):  # kept over there
                for sent in range(1, len(frames) + 1):
                    failed = self._ack() != b"#"
                    if failed:
                        break
                    wire += len(frames[sent - 1])
                    if progress:
                        progress(min(size, size * sent // len(frames)), size)
                frames = []
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
        # The board hashes and renames what it took: seconds on a slow board, never silence
        # for long (a board killed or reset mid-put must not hold the kernel).
        check_helper(self.repl.follow(out.extend, silence=HELPER_SILENCE), remote)
        if interrupted:
            raise KeyboardInterrupt
        return wire

    def _ack(self) -> bytes:
        ack = self.repl.read_exact(1, timeout=10)
        if ack not in (b"#", b"!"):
            self.repl.unread(ack)
            return b"?"
        return ack

    def receive(self, remote: str, size: int, progress: Progress | None) -> Received:
        """Receive a file from the running fs_get helper."""
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
        check_helper(self.repl.follow(out.extend, silence=HELPER_SILENCE), remote)
        return Received(bytes(data), wire, ENCODINGS[enc])

    def _start_helper(self, name: str, call: str, path: str) -> None:
        """Start a streaming helper; it answers R when ready (else its error is raised)."""
        self.repl.send(helper_call(name, call).encode())
        ready = self.repl.read_exact(1, timeout=10)
        if ready != b"R":
            self.repl.unread(ready)
            out = bytearray()
            result = self.repl.follow(out.extend, silence=HELPER_SILENCE)
            raise error_text_to_file_error(result.error or "OSError", path)


class ChunkChannel(ReplChannel):
    """The small-heap tier: one tiny exec per chunk, as bytes literals.

    Every exec here must parse within MicroPython's first parser stack (64 rules: about
    two nested calls or tuples). Deeper code makes the parser reallocate that stack to
    80 rules while holding the old one (1 KB + 1.25 KB on a 64-bit port, half on a
    32-bit board), which a fragmented 12 KB heap cannot give: so the file's read and
    write methods are bound once (`_w`, `_r`) and each chunk is a single call. The file
    object is opened right after a collection, so it sits low in the heap.
    """

    def _open(self, path: str, mode: str, method: str, name: str, report: str) -> None:
        self.run(TINY_OPEN.format(path=path, mode=mode, name=name, method=method), report)

    def _close(self, name: str, report: str, remove: str | None = None) -> None:
        code = f"_mpk_f.close()\ndel _mpk_f, {name}"
        if remove is not None:
            code += f"\n__import__('os').remove({remove!r})"
        self.run(code, report)

    def send(
        self, data: bytes, temp: str, remote: str, progress: Progress | None
    ) -> tuple[int, str]:
        self._open(temp, "wb", "write", "_w", remote)
        wire = 0
        try:
            for i in range(0, len(data), TINY_CHUNK):
                line = TINY_WRITE.format(chunk=data[i : i + TINY_CHUNK])
                self.run(line, remote)
                wire += len(line)
                if progress:
                    progress(min(i + TINY_CHUNK, len(data)), len(data))
        except (FileError, KeyboardInterrupt):
            with contextlib.suppress(FileError):
                self._close("_w", remote, remove=temp)
            raise
        self._close("_w", remote)
        return wire, "literal"

    def receive(self, remote: str, size: int, progress: Progress | None) -> Received:
        self._open(remote, "rb", "read", "_r", remote)
        data = bytearray()
        wire = 0
        try:
            while True:
                out = self.run(TINY_READ, remote)
                wire += len(out)
                chunk = ast.literal_eval(out.strip())
                if not chunk:
                    break
                data += chunk
                if progress:
                    progress(len(data), size)
        finally:
            self._close("_r", remote)
        return Received(bytes(data), wire, "literal")
