"""The relay: a page's WebSocket `{base_url}mpkernel/link/{kernel_id}` and the kernel's Unix
socket beside its connection file, frames passed on unchanged (BROWSER_LINK.md).

The page is authenticated and authorized by the Jupyter server as for the kernel's own
channels (token or cookie, origin check, "execute" on "kernels"), and only kernels of this
server's kernel manager are reachable. One page per kernel; one kernel connection at a time.
The socket lives only while a page holds the link, in the server's private runtime folder
(of any depth: see unix_address), owned by this user (0600), and a connection from another
account is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import url_path_join
from tornado import ioloop, web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..board.links import link_frames as lf
from ..board.links.unix_address import unix_address

SETTINGS_KEY = "mpkernel_links"
#: Bytes the page may get ahead of a kernel that does not read before the link is dropped.
BACKLOG_MAX = 8 * 1024 * 1024
#: How often a held link checks that its kernel still exists (ms).
KERNEL_CHECK_MS = 2000
#: The socket's address may name a folder descriptor long closed: asyncio must not remove
#: what it names (Python 3.13+); KernelLink.close removes the socket itself.
UNIX_SERVER_OPTIONS: dict[str, Any] = (
    {"cleanup_socket": False} if sys.version_info >= (3, 13) else {}
)

SECOND_PAGE = (
    "Another tab holds this kernel's board: use that tab, or close it and connect again here."
)
PAGE_CLOSED = (
    "The page that held the board closed (tab closed or reloaded, or the network dropped): "
    "connect the board again with the board panel's button, then run the cell again."
)
KERNEL_GONE = "The kernel's end of the link closed (kernel restarted or shut down)."
KERNEL_SHUT_DOWN = "The kernel was shut down: the board is free."
SECOND_KERNEL = "Another connection of this kernel holds the board's link."
BAD_FRAME = "The page sent a frame the link does not know (type {!r}): the link is closed."
BACKLOG = "The kernel stopped reading the board's bytes: the link is closed."


def peer_uid(sock: socket.socket) -> int | None:
    """The user id of the process at the other end of a Unix socket (Linux), else None."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def listen_privately(path: Path) -> socket.socket:
    """A listening Unix socket at `path` (any length), 0600 before anyone can reach it: bound
    in a fresh 0700 folder beside it, then moved into place."""
    private = tempfile.mkdtemp(prefix=".mpkernel-link-", dir=path.parent)
    staged = os.path.join(private, "s")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with unix_address(staged) as address:
            sock.bind(address)
        os.chmod(staged, 0o600)
        os.replace(staged, path)
        sock.listen(2)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(staged)
        raise
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(private)
    return sock


class KernelLink:
    """One kernel's link: the page that holds it, and the kernel connected to it (if any)."""

    def __init__(self, kernel_id: str, path: Path, page: LinkHandler) -> None:
        self.kernel_id = kernel_id
        self.path = path
        self.page: LinkHandler | None = page
        self.hello: bytes | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.server: asyncio.AbstractServer | None = None
        self.log = page.log

    async def start(self) -> None:
        sock = listen_privately(self.path)
        self.server = await asyncio.start_unix_server(
            self._kernel_connected, sock=sock, **UNIX_SERVER_OPTIONS
        )

    # -- page -> kernel ------------------------------------------------------------------

    def from_page(self, frame: bytes) -> None:
        kind = frame[:1]
        if kind not in lf.FROM_PAGE:
            self.end_page(BAD_FRAME.format(kind))
            return
        if kind == lf.HELLO:
            self.hello = frame
        writer = self.writer
        if writer is None or writer.is_closing():
            return  # no kernel holds the link: the board's bytes go nowhere, as on a port
        writer.write(lf.framed(frame))
        if writer.transport.get_write_buffer_size() > BACKLOG_MAX:
            self.end_page(BACKLOG)

    # -- the kernel's end ----------------------------------------------------------------

    async def _kernel_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        sock = writer.get_extra_info("socket")
        uid = peer_uid(sock) if sock is not None else None
        if uid is not None and uid != os.getuid():
            self.log.warning("mpkernel link: refused a connection from user id %s", uid)
            writer.close()
            return
        if self.writer is not None and not self.writer.is_closing():
            writer.write(lf.framed(lf.end(SECOND_KERNEL)))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        self.writer = writer
        if self.hello is not None:
            writer.write(lf.framed(self.hello))
        released = await self._to_page(reader, writer)
        if self.writer is writer:
            self.writer = None
        writer.close()
        if not released and self.page is not None:
            await self._send_page(lf.end(KERNEL_GONE))

    async def _to_page(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Pass the kernel's frames to the page until it closes; whether it released (then
        the next connection of the kernel may pair at once, even before this one closed)."""
        released = False
        try:
            while True:
                size = lf.LENGTH.unpack(await reader.readexactly(lf.LENGTH.size))[0]
                if not 0 < size <= lf.FRAME_MAX:
                    return released
                frame = await reader.readexactly(size)
                if frame[:1] not in lf.FROM_KERNEL:
                    return released
                released = frame[:1] == lf.RELEASE
                if released and self.writer is writer:
                    self.writer = None
                await self._send_page(frame)
        except (asyncio.IncompleteReadError, ConnectionError):
            return released

    async def _send_page(self, frame: bytes) -> None:
        page = self.page
        if page is None:
            return
        with contextlib.suppress(WebSocketClosedError):
            await page.write_message(frame, binary=True)

    def tell_kernel(self, line: str) -> None:
        writer = self.writer
        if writer is not None and not writer.is_closing():
            writer.write(lf.framed(lf.end(line)))
            writer.close()
        self.writer = None

    # -- ending ----------------------------------------------------------------------------

    def end_page(self, line: str) -> None:
        """Close the page's WebSocket with one line (sent as `E` first)."""
        self.tell_kernel(line)
        page = self.page
        if page is not None:
            with contextlib.suppress(WebSocketClosedError):
                page.write_message(lf.end(line), binary=True)
            page.close(4400, line[:120])

    def close(self, line: str) -> None:
        """The page is gone: tell the kernel, stop listening, remove the socket."""
        self.page = None
        self.tell_kernel(line)
        if self.server is not None:
            self.server.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


class LinkHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """`GET {base_url}mpkernel/link/{kernel_id}`: the page's end of a kernel's board link."""

    auth_resource = "kernels"
    link: KernelLink | None = None
    watch: ioloop.PeriodicCallback | None = None

    def set_default_headers(self) -> None:
        """No HTTP headers of JupyterHandler's: they do not apply to a WebSocket."""

    @property
    def links(self) -> dict[str, KernelLink]:
        return self.settings.setdefault(SETTINGS_KEY, {})

    @ws_authenticated
    async def get(self, kernel_id: str) -> None:
        user = self.current_user
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, "execute", "kernels")
        )
        if not allowed:
            raise web.HTTPError(403)
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, "No such kernel")
        self.kernel_id = kernel_id
        await super().get(kernel_id=kernel_id)

    async def open(self, kernel_id: str) -> None:
        super().open()
        # Board bytes are small and answer each other (a raw REPL's `OK`, a put's acks):
        # Nagle's algorithm would hold a frame back until the last one was acknowledged.
        self.set_nodelay(True)
        if kernel_id in self.links:
            with contextlib.suppress(WebSocketClosedError):
                await self.write_message(lf.end(SECOND_PAGE), binary=True)
            self.close(4409, SECOND_PAGE[:120])
            return
        kernel = self.kernel_manager.get_kernel(kernel_id)
        folder = Path(kernel.connection_file).parent
        link = KernelLink(kernel_id, lf.socket_path_for(folder, kernel_id), self)
        try:
            await link.start()
        except OSError as exc:
            line = f"The server cannot open the kernel's end of the link: {exc}."
            self.log.error("mpkernel link: %s", line)
            with contextlib.suppress(WebSocketClosedError):
                await self.write_message(lf.end(line), binary=True)
            self.close(4500, line[:120])
            return
        self.links[kernel_id] = self.link = link
        self.watch = ioloop.PeriodicCallback(self._check_kernel, KERNEL_CHECK_MS)
        self.watch.start()
        with contextlib.suppress(WebSocketClosedError):
            await self.write_message(lf.ATTACHED, binary=True)

    def _check_kernel(self) -> None:
        if self.link is not None and self.link.kernel_id not in self.kernel_manager:
            self.link.end_page(KERNEL_SHUT_DOWN)

    def on_message(self, message: str | bytes) -> None:
        if self.link is None:
            return
        if isinstance(message, str) or not message:
            self.link.end_page(BAD_FRAME.format("text" if message else "empty"))
            return
        self.link.from_page(message)

    def on_close(self) -> None:
        if self.watch is not None:
            self.watch.stop()
        link, self.link = self.link, None
        if link is not None:
            if self.links.get(link.kernel_id) is link:
                del self.links[link.kernel_id]
            link.close(PAGE_CLOSED)

    def get_compression_options(self) -> dict[str, Any] | None:
        return None  # board bytes are few and often already dense


def install(serverapp: Any) -> None:
    """Add the link's WebSocket endpoint to the server."""
    web_app = serverapp.web_app
    base_url = web_app.settings.get("base_url", "/")
    route = url_path_join(base_url, r"mpkernel/link/(?P<kernel_id>[\w-]+)")
    web_app.add_handlers(".*$", [(route, LinkHandler)])
