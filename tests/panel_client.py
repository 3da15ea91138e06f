"""The board panel's end of the `mpkernel.board` comm, over jupyter_client (as the extension
talks to the kernel): open the comm, send requests, collect replies and events."""

from __future__ import annotations

import time
import uuid
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient

TARGET = "mpkernel.board"


class PanelClient:
    """One open panel: requests get their reply; events pile up in `events`."""

    def __init__(self, kc: BlockingKernelClient, timeout: float = 30) -> None:
        self.kc = kc
        self.comm_id = uuid.uuid4().hex
        self.events: list[dict[str, Any]] = []
        self._next = 0
        self._send("comm_open", {"target_name": TARGET, "data": {}})
        self.wait_event("state", timeout)

    def _send(self, msg_type: str, content: dict[str, Any], buffers: list[bytes] | None = None):
        msg = self.kc.session.msg(msg_type, {"comm_id": self.comm_id, **content})
        if buffers:
            msg["buffers"] = buffers
        self.kc.shell_channel.send(msg)
        return msg

    def _next_data(self, deadline: float) -> dict[str, Any]:
        """The data of the next message on this comm (other iopub messages are skipped)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from the kernel's board channel")
            try:
                msg = self.kc.get_iopub_msg(timeout=left)
            except Exception:  # queue.Empty: keep waiting until the deadline
                continue
            content = msg["content"]
            if msg["msg_type"] == "comm_msg" and content.get("comm_id") == self.comm_id:
                return content["data"]
            if msg["msg_type"] == "comm_close" and content.get("comm_id") == self.comm_id:
                raise ConnectionError("the kernel closed the board channel")

    def send(self, op: str, buffers: list[bytes] | None = None, **args: Any) -> int:
        """Send a request without waiting; returns its id."""
        self._next += 1
        self._send("comm_msg", {"data": {"id": self._next, "op": op, **args}}, buffers)
        return self._next

    def reply(self, rid: int, timeout: float = 60) -> dict[str, Any]:
        """Wait for the reply to request `rid`, keeping the events that come before it."""
        deadline = time.monotonic() + timeout
        while True:
            data = self._next_data(deadline)
            if "event" in data:
                self.events.append(data)
            elif data.get("id") == rid:
                return data

    def request(self, op: str, buffers: list[bytes] | None = None, **args: Any) -> dict[str, Any]:
        """Send a request and return its reply ({"id", "ok", "result" | "error", "busy"})."""
        return self.reply(self.send(op, buffers, **args))

    def ok(self, op: str, buffers: list[bytes] | None = None, **args: Any) -> dict[str, Any]:
        """The result of a request that must succeed."""
        reply = self.request(op, buffers, **args)
        assert reply["ok"], reply.get("error")
        return reply["result"]

    def wait_event(self, name: str, timeout: float = 30) -> dict[str, Any]:
        """The next event called `name` (earlier ones already received count too)."""
        for i, event in enumerate(self.events):
            if event["event"] == name:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            data = self._next_data(deadline)
            if data.get("event") == name:
                return data
            self.events.append(data)

    def close(self) -> None:
        self._send("comm_close", {"data": {}})
