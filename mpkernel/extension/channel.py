"""The kernel's end of the board panel: the `mpkernel.board` comm target.

Messages from the frontend are requests ``{"id": n, "op": "...", ...arguments}`` (bytes for
uploads travel as the message's first buffer). Each gets one reply on the same comm:
``{"id": n, "ok": true, "result": {...}}`` or ``{"id": n, "ok": false, "error": "one line",
"busy": bool}``. The kernel also pushes events to every open panel:

- ``{"event": "state", "state": {...}}`` after a connect, disconnect or reset (from the panel
  or from a cell), with the fields of `operations.state`;
- ``{"event": "reset", "hard": bool}`` after a reset from the panel;
- ``{"event": "busy"}`` / ``{"event": "idle"}`` around each cell;
- ``{"event": "progress", "id": n, "done": bytes, "total": bytes}`` during a transfer;
- ``{"event": "output", "text": "..."}``: what the board printed outside a cell (boot output
  after a reset from the panel; `output()` is the entry point for board output between cells).

Every request runs under the kernel's board lock; if something other than the idle reader's
one read holds it for longer than `LOCK_WAIT`, the reply says "busy" instead of waiting. Requests
arriving while a cell runs wait in the kernel's shell queue, so they never interleave with a
cell on the link.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..services.failures import failure_of
from . import operations as ops

if TYPE_CHECKING:
    from comm.base_comm import BaseComm, CommManager

    from ..services.context import Context

TARGET = "mpkernel.board"
PROGRESS_EVERY = 0.1  # seconds between progress events of one transfer

Handler = Callable[..., Mapping[str, Any]]  # each returns its `wire` result
#: Requests: op -> (handler, takes the request's bytes, reports progress).
REQUESTS: dict[str, tuple[Handler, bool, bool]] = {
    "status": (ops.status, False, False),
    "ports": (ops.ports, False, False),
    "connect": (ops.connect, False, False),
    "disconnect": (ops.disconnect, False, False),
    "reset": (ops.reset, False, False),
    "ls": (ops.list_files, False, False),
    "read": (ops.read, False, False),
    "write": (ops.write, True, True),
    "download": (ops.download, False, True),
    "mkdir": (ops.mkdir, False, False),
    "rename": (ops.rename, False, False),
    "delete": (ops.delete, False, False),
}
#: Seconds a request waits for the board lock before it answers "busy", unless the idle
#: reader holds it: that is one read, which a busy machine may stretch past this; then the
#: request waits until the read ends (READ_WAIT at most).
LOCK_WAIT = 1.0
READ_WAIT = 30.0
#: Requests that need no board (answered even when nothing is connected, never "busy").
NO_BOARD = ("ports",)


class BoardChannel:
    """Open panels (comms) of one kernel: answers their requests and pushes events."""

    def __init__(self, kernel: Context) -> None:
        self.kernel = kernel
        self.comms: dict[str, BaseComm] = {}
        self._last_state: dict[str, Any] | None = None

    def register(self, comm_manager: CommManager) -> None:
        """Make `mpkernel.board` a comm target of the kernel (of its comm manager)."""
        comm_manager.register_target(TARGET, self._opened)

    # -- events --------------------------------------------------------------------------

    def push(self, event: dict[str, Any]) -> None:
        """Send an event to every open panel."""
        for comm in list(self.comms.values()):
            comm.send(event)

    def output(self, text: str) -> None:
        """Board output outside a cell, for the panel's console."""
        if self.comms and text:
            self.push({"event": "output", "text": text})

    def cell_started(self) -> None:
        if self.comms:
            self.push({"event": "busy"})

    def cell_finished(self) -> None:
        """After a cell: idle, and the new state if a magic connected, disconnected or reset."""
        if self.comms:
            self.push({"event": "idle"})
            self._push_state_if_changed()

    def _push_state_if_changed(self, force: bool = False) -> None:
        now = ops.state(self.kernel)
        board = self.kernel.board
        now_key = {**now, "board": id(board) if board is not None else None}
        if force or now_key != self._last_state:
            self._last_state = now_key
            self.push({"event": "state", "state": now})

    # -- requests ------------------------------------------------------------------------

    def _opened(self, comm: BaseComm, msg: dict[str, Any]) -> None:
        self.comms[comm.comm_id] = comm
        comm.on_msg(lambda m: self._request(comm, m))
        comm.on_close(lambda m: self._closed(comm))
        comm.send({"event": "state", "state": ops.state(self.kernel)})

    def _closed(self, comm: BaseComm) -> None:
        self.comms.pop(comm.comm_id, None)

    def _request(self, comm: BaseComm, msg: dict[str, Any]) -> None:
        """Answer one request; a malformed one gets an error reply, never an exception."""
        data = msg.get("content", {}).get("data")
        if not isinstance(data, dict):
            comm.send(self._failed(None, 'A request is an object: {"id": n, "op": "...", ...}.'))
            return
        rid = data.get("id")
        if not (isinstance(rid, int) or (isinstance(rid, str) and len(rid) <= 64)):
            rid = None  # not echoed: a request's id is a number
        op = data.get("op")
        if not isinstance(op, str) or op not in REQUESTS:
            shown = ops.shown(repr(op), 60)
            comm.send(self._failed(rid, f"Unknown request {shown}: the panel and kernel differ."))
            return
        handler, takes_bytes, reports = REQUESTS[op]
        kwargs: dict[str, Any] = {}
        if takes_bytes and msg.get("buffers"):
            kwargs["data"] = bytes(msg["buffers"][0])
        if reports:
            kwargs["progress"] = self._progress(comm, rid)
        lock = self.kernel.board_lock
        if op not in NO_BOARD and not self._take(lock):
            comm.send({"id": rid, "ok": False, "busy": True, "error": "The board is busy."})
            return
        try:
            result = handler(self.kernel, data, **kwargs)
            reply: dict[str, Any] = {"id": rid, "ok": True, "result": result}
        except (TypeError, ValueError, OverflowError) as exc:  # a value of the wrong kind
            self.kernel.log.info("mpkernel panel %s: bad request: %s", op, exc)
            reply = self._failed(rid, f"Bad request {op}: {ops.shown(str(exc), 200)}")
        except (KeyboardInterrupt, Exception) as exc:  # each as one line (a bug: also logged)
            failure = failure_of(exc, self.kernel.connection)
            if failure.internal:
                self.kernel.log.error("mpkernel panel %s failed:\n%s", op, traceback.format_exc())
            broke = "The link to the board broke: " if failure.link_lost else ""
            reply = self._failed(rid, broke + failure.message)
        finally:
            if op not in NO_BOARD:
                lock.release()
        comm.send(reply)
        printed = (reply.get("result") or {}).get("printed")
        if printed:
            self.output(printed)
        if op == "reset" and reply["ok"]:
            self.push({"event": "reset", "hard": bool(data.get("hard"))})
        self._push_state_if_changed()

    def _take(self, lock: threading.RLock) -> bool:
        """Take the board lock for a request: False when something other than the idle
        reader's one read holds it longer than LOCK_WAIT (a "busy" reply)."""
        deadline = time.monotonic() + READ_WAIT
        while not lock.acquire(timeout=LOCK_WAIT):
            if not self.kernel.connection.idle.reading or time.monotonic() > deadline:
                return False
        return True

    @staticmethod
    def _failed(rid: object, error: str) -> dict[str, Any]:
        return {"id": rid, "ok": False, "busy": False, "error": error}

    @staticmethod
    def _progress(comm: BaseComm, rid: object) -> ops.Progress:
        last = 0.0

        def report(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if done >= total or now - last >= PROGRESS_EVERY:
                last = now
                comm.send({"event": "progress", "id": rid, "done": done, "total": total})

        return report
