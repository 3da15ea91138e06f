"""A put cut off mid-file, still waiting on the board: end it so the raw REPL answers again.

The fs_put helper reads raw frames (a 2-byte length, then the bytes) with Ctrl-C off, and
says nothing until a frame is whole. A board that kept running while its link went away (a
self-powered board whose USB cable was pulled, a kernel that died mid-put) stays in it, deaf
to Ctrl-C. Bytes 0xFF complete the frame it waits for, then make the next length 0xFFFF:
the helper's abort, which turns Ctrl-C back on, removes its temporary file and ends with a
KeyboardInterrupt. The frame it waits for is at most 0x0DFF bytes long when the first header
byte it got from us is the "\\r" every entry into the raw REPL starts with.
"""

from __future__ import annotations

from ..links.transport import Transport

#: Bytes that end any frame the helper can be waiting for, and its abort header.
FILL = 0x0DFF + 2
#: Written in pieces; the filling stops as soon as the board says anything.
PIECE = 256
#: Seconds of quiet after a piece before the next one (the board answers a whole frame at once).
QUIET = 0.05
#: Seconds to wait, the fill written, for an answer still on its way: through a link with
#: a round trip of its own (the page's Web Serial, WebREPL) the last pieces may not have
#: reached the board when the quiet after them ran out.
IN_FLIGHT = 1.5


def end_cut_put(transport: Transport) -> bytes:
    """Fill and abort a put helper left waiting for its frame; what the board said then
    (b"" when it stayed silent: it was not in the helper, or is no MicroPython board)."""
    said = bytearray()
    for _ in range(0, FILL, PIECE):
        transport.write(b"\xff" * PIECE)
        said += transport.drain(quiet=QUIET, limit=1.0)
        if said:
            break
    if not said:
        said += transport.drain(quiet=IN_FLIGHT, limit=2 * IN_FLIGHT)
    if said:
        said += transport.drain(quiet=0.2, limit=3.0)  # the abort's traceback, then `>`
    return bytes(said)
