"""The `mpkernel.board` comm's messages, typed: one entry per request (its arguments and its
result), the replies and the events. Mirrored, field for field, by labextension/src/tokens.ts
(`IRequests`, `IReply`, `IEvent`)."""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class NoArgs(TypedDict):
    """A request that takes no arguments."""


class _State(TypedDict):
    connected: bool


class State(_State, total=False):
    """What the kernel says about its board (the `state` event; `status` adds the details)."""

    port: str
    kind: str
    virtual: bool
    firmware: str
    machine: str
    free_heap: int
    free_flash: int
    total_flash: int
    provenance: dict[str, Any]


class ResetResult(State):
    printed: str


class Port(TypedDict):
    device: str
    usb_id: str
    description: str
    known_as: str


class PortsResult(TypedDict):
    ports: list[Port]


class _ConnectArgs(TypedDict):
    target: str


class ConnectArgs(_ConnectArgs, total=False):
    baud: int


class _ResetArgs(TypedDict):
    pass


class ResetArgs(_ResetArgs, total=False):
    hard: bool


class Entry(TypedDict):
    path: str
    dir: bool
    size: int


class _LsArgs(TypedDict):
    pass


class LsArgs(_LsArgs, total=False):
    path: str


class LsResult(TypedDict):
    entries: list[Entry]


class PathArgs(TypedDict):
    path: str


class PathResult(TypedDict):
    path: str


class _ReadArgs(TypedDict):
    path: str


class ReadArgs(_ReadArgs, total=False):
    binary: bool


class _ReadResult(TypedDict):
    path: str
    size: int


class ReadResult(_ReadResult, total=False):
    text: str
    base64: str


class _WriteArgs(TypedDict):
    path: str


class WriteArgs(_WriteArgs, total=False):
    text: str
    parents: bool


class WriteResult(TypedDict):
    path: str
    size: int
    seconds: float
    verified: str  # how: "sha256", "read back", ... (see files.Transfer)


class _DownloadArgs(TypedDict):
    path: str


class DownloadArgs(_DownloadArgs, total=False):
    dest: str


class DownloadResult(TypedDict):
    path: str
    local: str
    size: int


class RenameArgs(TypedDict):
    path: str
    to: str


class RenameResult(TypedDict):
    path: str
    to: str


class DeleteResult(TypedDict):
    path: str
    removed: int


#: op -> (its arguments, its result): the request map, as tokens.ts's `IRequests`.
REQUESTS: dict[str, tuple[type, type]] = {
    "status": (NoArgs, State),
    "ports": (NoArgs, PortsResult),
    "connect": (ConnectArgs, State),
    "disconnect": (NoArgs, State),
    "reset": (ResetArgs, ResetResult),
    "ls": (LsArgs, LsResult),
    "read": (ReadArgs, ReadResult),
    "write": (WriteArgs, WriteResult),
    "download": (DownloadArgs, DownloadResult),
    "mkdir": (PathArgs, PathResult),
    "rename": (RenameArgs, RenameResult),
    "delete": (PathArgs, DeleteResult),
}


class Request(TypedDict):
    """A request from the panel: its id, its op, and the op's arguments beside them."""

    id: int
    op: str


class Done(TypedDict):
    id: Any
    ok: Literal[True]
    result: Any


class Failed(TypedDict):
    id: Any
    ok: Literal[False]
    busy: bool
    error: str


Reply = Done | Failed


class StateEvent(TypedDict):
    event: Literal["state"]
    state: State


class OutputEvent(TypedDict):
    event: Literal["output"]
    text: str


class ResetEvent(TypedDict):
    event: Literal["reset"]
    hard: bool


class CellEvent(TypedDict):
    event: Literal["busy", "idle"]


class ProgressEvent(TypedDict):
    event: Literal["progress"]
    id: Any
    done: int
    total: int


Event = StateEvent | OutputEvent | ResetEvent | CellEvent | ProgressEvent
