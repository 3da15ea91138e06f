"""A real JupyterHub on 127.0.0.1, started and stopped by a test (or a bench).

JupyterHub from PyPI (the `hub` extra) and configurable-http-proxy from npm, both installed
by `sh install/jupyterhub.sh`; the dummy authenticator (any password), the
SimpleLocalProcessSpawner (every student's server runs as this system user, in a home of
its own under the hub's temporary folder), `c.Spawner.cmd` = this venv's
`jupyterhub-singleuser`. The public proxy, the proxy's API and the hub's API each get a free
127.0.0.1 port. `Hub.stop()` stops the hub (which stops every student's server and the
proxy), then ends whatever of ours is left (processes whose working folder is under the
hub's folder: servers, kernels, virtual boards), each step with a deadline.

`hub_config()` is the configuration, as text: install/jupyterhub.md quotes its
`# -- mpkernel` block, and tests/test_hub.py checks that the two agree.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SINGLEUSER = VENV_BIN / "jupyterhub-singleuser"
PROXY = ROOT / ".venv" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
SPEC_RESOURCES = ROOT / "mpkernel" / "resources" / "kernelspec"
START_WAIT = 90.0  # s: the hub and its proxy answering
STOP_WAIT = 30.0  # s: the hub's own shutdown (it stops every server first)


def missing() -> str | None:
    """Why a hub cannot start here (what to run), or None."""
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "JupyterHub not installed (sh install/jupyterhub.sh)"
    if not SINGLEUSER.exists():
        return f"no {SINGLEUSER} (sh install/jupyterhub.sh)"
    if not PROXY.exists():
        return "configurable-http-proxy not installed (sh install/jupyterhub.sh)"
    if not shutil.which("node"):
        return "no Node.js for configurable-http-proxy (sh install/jupyterhub.sh)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The lines an admin puts in jupyterhub_config.py for mpkernel (install/jupyterhub.md).
MPKERNEL_CONFIG = """\
# -- mpkernel
c.Spawner.default_url = "/lab"
# Web Serial and the board link's WebSocket go through the hub's proxy like the
# kernels' own channels; nothing else to open.
# -- end mpkernel
"""


def hub_config(folder: Path, ports: dict[str, int], admin_token: str) -> str:
    """jupyterhub_config.py for a hub whose everything lives in `folder`."""
    root = os.geteuid() == 0 if hasattr(os, "geteuid") else False
    return f"""\
import json, pathlib
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{ports["public"]}/"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{ports["hub"]}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports["proxy_api"]}"
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(folder / "proxy.pid")!r}
c.ConfigurableHTTPProxy.check_running_interval = 2
c.JupyterHub.db_url = "sqlite:///{folder / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(folder / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(folder / "jupyterhub.pid")!r}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(folder / "{username}")!r}
c.Spawner.cmd = [{str(SINGLEUSER)!r}]
c.Spawner.args = {["--allow-root"] if root else []!r} + [
    "--ServerApp.port_retries=0",
    "--LabApp.news_url=",
    "--LabApp.extension_manager=readonly",
]
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 240
c.Spawner.http_timeout = 240
c.JupyterHub.concurrent_spawn_limit = 0
c.Spawner.environment = {{
    "JUPYTER_PATH": {str(folder / "share")!r},
    "JUPYTERLAB_SETTINGS_DIR": {str(folder / "settings")!r},
}}

def per_student(spawner):
    # extra environment for one student (the tests' own boards), read at each spawn
    extra = pathlib.Path({str(folder / "student-env.json")!r})
    if extra.exists():
        spawner.environment.update(json.loads(extra.read_text()).get(spawner.user.name, {{}}))

c.Spawner.pre_spawn_hook = per_student
c.JupyterHub.services = [{{"name": "test-admin", "api_token": {admin_token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": "test-admin",
    "scopes": ["admin:users", "admin:servers", "list:users", "read:users", "tokens"],
    "services": ["test-admin"],
}}]
{MPKERNEL_CONFIG}"""


class PortTaken(Exception):
    """One of the hub's ports was taken before the hub bound it."""


class Hub:
    """A running hub: `url` is what a student's browser opens; `api()` is the hub's REST API
    as the test's admin service (or as a user, with that user's token)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports = {k: free_port() for k in ("public", "hub", "proxy_api")}
        self.url = f"http://127.0.0.1:{self.ports['public']}"
        self.admin_token = secrets.token_hex(24)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "hub.log"

    # ---------------------------------------------------------------- set-up

    def prepare(self) -> None:
        # the kernelspec as installed (with its logos), running this interpreter
        spec = self.folder / "share" / "kernels" / "micropython"
        shutil.copytree(SPEC_RESOURCES, spec, dirs_exist_ok=True)
        kernel_json = json.loads((spec / "kernel.json").read_text())
        kernel_json["argv"] = [sys.executable, "-m", "mpkernel", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(json.dumps(kernel_json))
        settings = self.folder / "settings" / "@jupyterlab"
        notif = settings / "apputils-extension" / "notification.jupyterlab-settings"
        notif.parent.mkdir(parents=True, exist_ok=True)
        notif.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        config = self.folder / "jupyterhub_config.py"
        config.write_text(hub_config(self.folder, self.ports, self.admin_token))
        config.chmod(0o600)  # it holds the admin service's token

    def home(self, user: str) -> Path:
        path = self.folder / user
        path.mkdir(parents=True, exist_ok=True)
        return path

    def set_student_env(self, user: str, env: dict[str, str]) -> None:
        """Environment for `user`'s next server (e.g. MPKERNEL_PORT of their own board)."""
        path = self.folder / "student-env.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data[user] = env
        path.write_text(json.dumps(data))

    # ---------------------------------------------------------------- running

    def start(self, attempts: int = 3) -> None:
        """Start the hub; new ports and another try if one of its ports was taken between
        choosing it and binding it (another test's kernel may take any free port)."""
        for attempt in range(attempts):
            try:
                self._start_once()
                return
            except PortTaken:
                self.stop()
                if attempt == attempts - 1:
                    raise RuntimeError(
                        f"jupyterhub found its ports taken: {self.log_tail()}"
                    ) from None
                self.ports = {k: free_port() for k in self.ports}
                self.url = f"http://127.0.0.1:{self.ports['public']}"

    def _start_once(self) -> None:
        self.prepare()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MPKERNEL"))}
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "jupyterhub"), "-f", str(self.folder / "jupyterhub_config.py")],
            cwd=self.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        end = time.monotonic() + START_WAIT
        while True:
            if self.proc.poll() is not None:
                if "address already in use" in self.log_tail().lower():
                    raise PortTaken
                raise RuntimeError(f"jupyterhub exited: {self.log_tail()}")
            with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
                status, _ = self.api("GET", "/")
                if status == 200:
                    return
            if time.monotonic() > end:
                raise RuntimeError(f"jupyterhub did not answer in {START_WAIT:.0f} s: "
                                   f"{self.log_tail()}")  # fmt: skip
            time.sleep(0.3)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def request(
        self, method: str, url: str, body: Any = None, token: str | None = None,
        headers: dict[str, str] | None = None, timeout: float = 30,
    ) -> tuple[int, bytes]:  # fmt: skip
        """(status, body) of one HTTP request; redirects are not followed."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        if token:
            req.add_header("Authorization", f"token {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def api(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """The hub's REST API (through the proxy, as a browser reaches it)."""
        status, raw = self.request(
            method, f"{self.url}/hub/api{path}", body, token or self.admin_token
        )
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def user_token(self, user: str) -> str:
        """A fresh API token of `user` (what their own server or a script of theirs holds)."""
        self.ensure_user(user)
        status, body = self.api("POST", f"/users/{user}/tokens", {"note": "test"})
        assert status in (200, 201), (status, body)
        return str(body["token"])

    def ensure_user(self, user: str) -> None:
        status, _ = self.api("GET", f"/users/{user}")
        if status == 404:
            status, body = self.api("POST", f"/users/{user}")
            assert status in (200, 201), (status, body)

    def server_ready(self, user: str) -> bool:
        status, body = self.api("GET", f"/users/{user}")
        return status == 200 and bool(body.get("servers", {}).get("", {}).get("ready"))

    def proxy_pid(self) -> int | None:
        try:
            return int((self.folder / "proxy.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def restart_proxy(self, users: list[str], wait: float = 120) -> None:
        """Kill the proxy; the hub notices and starts it again with every route. Returns once
        each of `users`' servers answers through it again (until its route is back, the
        proxy sends their requests to the hub, which answers 404)."""
        tokens = {user: self.user_token(user) for user in users}
        old = self.proxy_pid()
        assert old, "the proxy's pid file is missing"
        os.kill(old, signal.SIGKILL)
        end = time.monotonic() + wait
        waiting = ["the new proxy", *users]
        while time.monotonic() < end:
            new = self.proxy_pid()
            if new and new != old:
                waiting = [u for u in users if not self._answers(u, tokens[u])]
                if not waiting:
                    return
            time.sleep(0.3)
        raise RuntimeError(
            f"the hub did not restart its proxy with every route in {wait:.0f} s "
            f"(still waiting for {waiting}): {self.log_tail()}"
        )

    def _answers(self, user: str, token: str) -> bool:
        """Whether the user's own server answers through the proxy."""
        with contextlib.suppress(OSError, ValueError):
            status, _ = self.request("GET", f"{self.url}/user/{user}/api/status", token=token)
            return status == 200
        return False

    def stop(self) -> None:
        """Stop the hub (it stops the servers and the proxy), then anything of ours left."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        pid = self.proxy_pid()
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        kill_under(self.folder)


def processes_under(folder: Path) -> list[int]:
    """Processes (not this one) whose working folder is `folder` or below it: our students'
    servers, their kernels and boards (the spawner starts each server in its home)."""
    found = []
    prefix = str(folder.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == prefix or cwd.startswith(prefix + os.sep):
            found.append(int(entry.name))
    return found


def kill_under(folder: Path, wait: float = 10) -> list[int]:
    """End our processes working under `folder`: SIGTERM, then SIGKILL after `wait` s."""
    pids = processes_under(folder)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        end = time.monotonic() + wait
        while time.monotonic() < end and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)
        pids = [p for p in pids if Path(f"/proc/{p}").exists()]
        if not pids:
            break
    return pids


@contextlib.contextmanager
def running_hub(folder: Path) -> Iterator[Hub]:
    hub = Hub(folder)
    try:
        hub.start()
        yield hub
    finally:
        hub.stop()
