"""Safe on a shared machine (issue 26): another local account cannot reach a kernel's virtual
board, and the board's files stay in its own private folder, removed when it goes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mpkernel.board.virtual.board import VirtualBoard

NOBODY = ("--reuid=65534", "--regid=65534", "--clear-groups")

#: What another account tries (run as nobody): read every process's command line and
#: environment, take anything that looks like a control address out of them, and try it;
#: open the board processes' inherited sockets through /proc.
INTRUDER = r"""
import json, os, re, socket, sys
pids, marker = [int(p) for p in sys.argv[1].split(",")], sys.argv[2]
seen = {"cmdline": False, "environ": False, "reached": [], "opened": [], "tried": 0}
text = ""
for pid in pids:
    for part in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as f:
                text += f.read().decode("latin-1") + "\n"
            seen[part] = True
        except OSError:
            pass
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        fds = [str(n) for n in range(64)]
    for fd in fds:
        try:
            os.close(os.open(f"/proc/{pid}/fd/{fd}", os.O_RDWR | os.O_NONBLOCK))
            seen["opened"].append(f"{pid}/{fd}")
        except OSError:
            pass
# Anything like a port and a token (ctl=PORT:TOKEN, or a port and a hex word), and any
# socket path, is tried as the control channel: ask for the WebREPL's state.
for port, token in re.findall(r"(\d{2,5})[: ]([0-9a-f]{8,})", text):
    seen["tried"] += 1
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=2) as s:
            s.sendall(f"{token} webrepl-status\n".encode())
            if s.recv(100).startswith(b"ok"):
                seen["reached"].append(port)
    except OSError:
        pass
for path in re.findall(r"/[\w./-]+\.sock", text):
    seen["tried"] += 1
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(path)
        seen["reached"].append(path)
    except OSError:
        pass
seen["marker"] = marker in text
print(json.dumps(seen))
"""


def board_pids(vb: VirtualBoard) -> list[int]:
    """The board's processes: its relay and the MicroPython child (the relay's child)."""
    deadline = time.monotonic() + 20
    while True:
        pids = [vb._proc.pid]
        for proc in Path("/proc").iterdir():
            try:
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == vb._proc.pid:
                pids.append(int(proc.name))
        if len(pids) > 1 or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def as_nobody(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to act as a second account")
    return subprocess.run(
        ["setpriv", *NOBODY, sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )


def test_another_account_cannot_reach_the_boards_control_channel(tmp_path: Path) -> None:
    with VirtualBoard(root=tmp_path / "board") as vb:
        pids = board_pids(vb)
        assert len(pids) == 2, pids
        assert vb.ask("webrepl-status") == "ok"  # the owner reaches it
        got = as_nobody(INTRUDER, ",".join(map(str, pids)), "--control-fd")
        assert got.returncode == 0, got.stderr
        seen = json.loads(got.stdout)
        # It read the command lines (as any account can), so the test looked where a
        # secret would have been...
        assert seen["cmdline"] and seen["marker"], seen
        # ...and nothing there, nor in the processes' sockets, let it in.
        assert seen["reached"] == [] and seen["opened"] == [], seen
        for pid in pids:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            assert b"ctl=" not in cmdline or b":" not in cmdline.split(b"ctl=")[1][:8], cmdline
        assert vb.ask("webrepl-status") == "ok"  # the board still answers its owner


def test_board_code_reaches_its_host_process_through_the_inherited_channel(
    tmp_path: Path,
) -> None:
    """The board's own requests (webrepl, machine.reset) still work over the new channel."""
    from mpkernel.board.session import Board

    with VirtualBoard(root=tmp_path / "board") as vb:
        board = Board.open(vb.port)
        try:
            assert board.exec_capture("import webrepl\nprint(webrepl.listening())") == "None\n"
            said = board.exec_capture("webrepl.start(password='pw12')\nprint(webrepl.listening())")
            assert "ws://127.0.0.1:" in said, said
            assert vb.webrepl_url() is not None
        finally:
            board.close()


def wait_gone(path: Path, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def test_the_boards_own_folder_is_private_and_removed_with_the_board() -> None:
    from mpkernel.board.session import Board

    vb = VirtualBoard()
    try:
        root = vb.root
        assert root.name.startswith("mpkernel-board-")
        assert root.stat().st_mode & 0o777 == 0o700
        board = Board.open(vb.port)
        board.exec_capture(
            "f = open('webrepl_cfg.py', 'w')\nf.write(\"PASS = 'pw12'\\n\")\nf.close()"
        )
        board.close()
        assert (root / "webrepl_cfg.py").exists()
    finally:
        vb.stop()
    assert wait_gone(root), list(root.iterdir())


def test_the_boards_folder_goes_when_its_kernel_is_killed() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", "import time\n"
         "from mpkernel.board.virtual.board import VirtualBoard\n"
         "vb = VirtualBoard()\nprint(vb.root, flush=True)\ntime.sleep(120)"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert owner.stdout is not None
    root = Path(owner.stdout.readline().strip())
    assert root.is_dir()
    owner.kill()
    owner.wait()
    assert wait_gone(root)


def test_a_folder_given_with_root_is_kept(tmp_path: Path) -> None:
    with VirtualBoard(root=tmp_path / "mine") as vb:
        (vb.root / "main.py").write_text("print(1)\n")
    assert (tmp_path / "mine" / "main.py").exists()


@pytest.fixture(scope="module")
def confined(tmp_path_factory: pytest.TempPathFactory):
    """A kernel on a virtual board whose folder is `board`, beside a folder `outside` that
    holds secret.txt, with a link board/away -> outside; and a panel on it."""
    from conftest import run, start_kernel
    from panel_client import PanelClient

    top = tmp_path_factory.mktemp("confined")
    (top / "board").mkdir()
    (top / "outside").mkdir()
    (top / "outside" / "secret.txt").write_text("host secret\n")
    (top / "board" / "away").symlink_to(top / "outside")
    km, kc = start_kernel()
    assert run(kc, f"%connect virtual --root {top / 'board'}").status == "ok"
    panel = PanelClient(kc)
    yield kc, panel, top
    panel.close()
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def outside_untouched(top: Path) -> None:
    assert sorted(p.name for p in (top / "outside").iterdir()) == ["secret.txt"]
    assert (top / "outside" / "secret.txt").read_text() == "host secret\n"


@pytest.mark.parametrize("path", ["/../outside/secret.txt", "../../outside/secret.txt",
                                  "away/secret.txt", "/away/../away/secret.txt"])  # fmt: skip
def test_board_code_cannot_read_or_write_beside_the_boards_folder(confined, path: str) -> None:
    from conftest import run

    kc, _, top = confined
    r = run(kc, f"try:\n print(open({path!r}).read())\nexcept OSError as e:\n print('refused', e)")
    assert r.status == "ok" and r.stdout.startswith("refused"), r.text
    folder = path.rsplit("/", 1)[0]
    r = run(kc, f"import os\ntry:\n open({folder + '/new.txt'!r}, 'w').write('x')\n"
                f" os.remove({path!r})\nexcept OSError as e:\n print('refused', e)")  # fmt: skip
    assert r.status == "ok", r.text
    outside_untouched(top)


def test_cwd_has_no_parent_above_the_boards_root(confined) -> None:
    from conftest import run

    kc, _, _ = confined
    r = run(
        kc, "import os\nos.chdir('/..')\nos.chdir('..')\nprint(os.getcwd(), sorted(os.listdir()))"
    )
    assert r.status == "ok", r.text
    assert r.stdout.split()[0] == "/" and "outside" not in r.stdout, r.text  # "away" is hidden
    assert "away" not in r.stdout, r.text


def test_magics_stay_in_the_boards_folder(confined) -> None:
    from conftest import run

    kc, _, top = confined
    r = run(kc, "%cat /../outside/secret.txt")
    assert "host secret" not in r.text and r.status == "error", r.text
    run(kc, "%rm /../outside/secret.txt")
    run(kc, "%mkdir /../outside/made")
    run(kc, "%mv /away/secret.txt /stolen.txt")
    outside_untouched(top)
    assert not (top / "board" / "stolen.txt").exists()


def test_panel_requests_stay_in_the_boards_folder(confined) -> None:
    _, panel, top = confined
    panel.request("write", path="/../outside/planted.py", text="x = 1\n", parents=True)
    panel.request("mkdir", path="/../outside/made")
    panel.request("rename", path="/../outside/secret.txt", to="/taken.txt")
    panel.request("delete", path="/../outside")
    panel.request("delete", path="/away/secret.txt")
    reply = panel.request("read", path="/../outside/secret.txt")
    assert not reply["ok"], reply
    outside_untouched(top)
    listed = [e["path"] for e in panel.ok("ls", path="/")["entries"]]
    assert not any("secret" in p for p in listed), listed
