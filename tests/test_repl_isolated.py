"""RunEnd, StdinRelay and the mount filter on their own, over an in-memory transport: the
board's bytes as byte strings, cut at every position (beside the end-to-end tests with a
real MicroPython)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpkernel.board.links.transport import Transport
from mpkernel.board.mount import MountServer
from mpkernel.board.repl.run_end import RunEnd, partial_start
from mpkernel.board.repl.stdin_relay import (
    END,
    NO_STDIN,
    START,
    StdinRelay,
    may_read_stdin,
    sendable,
)


class MemoryTransport(Transport):
    """A link whose board side is byte strings: `read` hands out what was queued, `write`
    keeps what the host sent."""

    def __init__(self, *chunks: bytes) -> None:
        self.incoming = list(chunks)
        self.sent = bytearray()

    def write(self, data: bytes) -> None:
        self.sent += data

    def read(self, timeout: float) -> bytes:
        return self.incoming.pop(0) if self.incoming else b""

    def close(self) -> None:
        self.incoming.clear()


def cuts(stream: bytes) -> list[list[bytes]]:
    """The stream in one piece, byte by byte, and cut in two at every position."""
    return [[stream], [stream[i : i + 1] for i in range(len(stream))]] + [
        [stream[:i], stream[i:]] for i in range(1, len(stream))
    ]


def test_partial_start_counts_the_bytes_that_could_begin_a_word() -> None:
    assert partial_start(b"abc\x1em", b"\x1empk") == 2
    assert partial_start(b"abc", b"\x1empk") == 0
    assert partial_start(b"x\x1emp", b"\x1empk") == 3
    assert may_read_stdin("x = input()") and may_read_stdin(b"sys.stdin.read()")
    assert not may_read_stdin("print(1)") and not may_read_stdin(b"print(1)")


@pytest.mark.parametrize("pieces", cuts(b"out\x04put\nM1x" + b"MARK\x04" + b"Err\x04>"))
def test_run_end_finds_the_marked_end_wherever_the_reads_cut(pieces: list[bytes]) -> None:
    link = MemoryTransport(*pieces)
    shown = bytearray()
    end = RunEnd(shown.extend, b"MARK", link.write)
    while not end.done:
        data = link.read(0.1)
        assert data, "the end was not found"
        end.done = end.feed(data) or end.done
    end.flush()
    assert bytes(shown) == b"out\x04put\nM1x"  # an EOT and a mark's first letter printed
    assert end.error == b"Err"
    assert bytes(end.after) + b"".join(link.incoming) == b">"  # the prompt: left for the REPL
    assert link.sent == b""  # a marked end needs no probe


@pytest.mark.parametrize("pieces", cuts(b"hi " + START + b"Name? " + END + b"bye"))
def test_stdin_relay_answers_the_prompt_wherever_the_reads_cut(pieces: list[bytes]) -> None:
    link = MemoryTransport(*pieces)
    out = bytearray()
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return "Ada"

    relay = StdinRelay(out.extend, ask, link.write)
    while data := link.read(0.1):
        relay.feed(data)
    relay.finish()
    assert (bytes(out), prompts, bytes(link.sent)) == (b"hi bye", ["Name? "], sendable("Ada"))


def test_stdin_relay_without_stdin_says_so_once() -> None:
    link = MemoryTransport(START + b"a? " + END, START + b"b? " + END)
    relay = StdinRelay(lambda b: None, lambda p: None, link.write)
    while data := link.read(0.1):
        relay.feed(data)
    assert relay.refused and link.sent == (NO_STDIN + b"\r") * 2


@pytest.mark.parametrize("pieces", cuts(b"a\x18b" + b"\x18Snote.txt\x17" + b"z"))
def test_mount_filter_takes_requests_out_wherever_the_reads_cut(
    pieces: list[bytes], tmp_path: Path
) -> None:
    (tmp_path / "note.txt").write_bytes(b"12345")
    link = MemoryTransport(*pieces)
    server = MountServer(tmp_path, link.write, link.stdin_chunk)
    shown = bytearray()
    while data := link.read(0.1):
        shown += server.filter(data)
    assert bytes(shown) == b"a\x18bz"  # the program's own 0x18 stays
    assert server.requests_seen == 1
    assert bytes(link.sent).startswith(b"O") and b"5" in bytes(link.sent)  # stat: its size
