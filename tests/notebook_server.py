"""A real `jupyter server` for tests: 127.0.0.1, a random token, a private runtime folder.

The token is in a config file of the server's own config folder, never on a command line
or in an environment. Kernels start through its REST API, as JupyterLab starts them; a test
reaches a kernel with jupyter_client on the connection file the server wrote.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import queue
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient

OTHER_EXTENSIONS = (
    "jupyterlab",
    "notebook",
    "notebook_shim",
    "jupyter_lsp",
    "jupyter_server_terminals",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JupyterServer:
    """A running server: `url` (ends with /), `token`, `runtime` (its connection files)."""

    def __init__(self, root: Path, runtime: Path | None = None) -> None:
        self.token = secrets.token_hex(24)
        self.runtime = runtime or Path(tempfile.mkdtemp(prefix="mpk-rt-"))
        self.config = Path(tempfile.mkdtemp(prefix="mpk-cf-"))
        (self.config / "jupyter_server_config.json").write_text(
            json.dumps(
                {
                    "IdentityProvider": {"token": self.token},
                    # Only what a kernel's board link needs: quicker to start on 2 busy cores.
                    "ServerApp": {"jpserver_extensions": dict.fromkeys(OTHER_EXTENSIONS, False)},
                }
            )
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_TOKEN")}
        env.update(JUPYTER_RUNTIME_DIR=str(self.runtime), JUPYTER_CONFIG_DIR=str(self.config))
        argv = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1",
                f"--port={self.port}", "--ServerApp.port_retries=0",
                f"--ServerApp.root_dir={root}"]  # fmt: skip
        if os.getuid() == 0:
            argv.append("--allow-root")
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.output()}")
            try:
                self.api("GET", "api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"jupyter server did not answer within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-4000:]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    def login_cookie(self) -> str:
        """The cookie a browser gets by opening the server's URL with its token."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(f"{self.url}api/status?token={self.token}", timeout=30):
            pass
        return "; ".join(f"{c.name}={c.value}" for c in jar)

    def start_kernel(self, name: str = "micropython") -> str:
        return str(self.api("POST", "api/kernels", {"name": name})["id"])

    def interrupt(self, kernel_id: str) -> None:
        self.api("POST", f"api/kernels/{kernel_id}/interrupt")

    def shutdown_kernel(self, kernel_id: str) -> None:
        self.api("DELETE", f"api/kernels/{kernel_id}")

    def client(self, kernel_id: str, timeout: float = 150.0) -> BlockingKernelClient:
        """A client on the kernel's connection file, its channels started and ready."""
        path = self.runtime / f"kernel-{kernel_id}.json"
        end = time.monotonic() + timeout
        while not path.exists() and time.monotonic() < end:
            time.sleep(0.1)
        kc = BlockingKernelClient(connection_file=str(path))
        kc.load_connection_file()
        kc.start_channels()
        asked: set[str] = set()
        while True:  # ready: it answers kernel_info (the heartbeat may lag on busy cores)
            asked.add(kc.kernel_info())
            try:
                reply = kc.get_shell_msg(timeout=5)
                if reply["parent_header"].get("msg_id") in asked:
                    break
            except queue.Empty:
                if time.monotonic() > end:
                    kc.stop_channels()
                    text = self.output()
                    raise RuntimeError(f"kernel {kernel_id} did not answer:\n{text}") from None
        while True:  # and its iopub is subscribed: what it prints from now on arrives
            try:
                kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                break
        return kc

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.runtime, ignore_errors=True)
        shutil.rmtree(self.config, ignore_errors=True)


@contextmanager
def jupyter_server(root: Path, runtime: Path | None = None) -> Iterator[JupyterServer]:
    """A server for `root`; its connection files in `runtime` (a new private folder if None)."""
    server = JupyterServer(root, runtime)
    try:
        yield server
    finally:
        server.stop()
