"""Tests for `python -m mpkernel install` / `uninstall` (mpkernel.install)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager

from mpkernel import install

LOGOS = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")


def spec_dir(prefix: Path, name: str = "micropython") -> Path:
    return prefix / "share" / "jupyter" / "kernels" / name


def test_packaged_kernelspec_is_complete() -> None:
    spec = json.loads((install.RESOURCES / "kernel.json").read_text())
    assert spec["argv"] == ["python", "-m", "mpkernel", "-f", "{connection_file}"]
    assert spec["display_name"] == "MicroPython"
    assert spec["language"] == "python"
    assert spec["interrupt_mode"] == "signal"
    assert spec["metadata"] == {"debugger": False}
    for logo in LOGOS:
        assert (install.RESOURCES / logo).is_file()
    assert (install.RESOURCES / "logo-64x64.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_install_into_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert install.main(["--prefix", str(tmp_path)]) == 0

    dest = spec_dir(tmp_path)
    spec = json.loads((dest / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    assert spec["argv"][1:] == ["-m", "mpkernel", "-f", "{connection_file}"]
    for logo in LOGOS:
        assert (dest / logo).is_file()

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert str(dest) in out

    ksm = KernelSpecManager(kernel_dirs=[str(dest.parent)])
    assert "micropython" in ksm.find_kernel_specs()
    found = ksm.get_kernel_spec("micropython")
    assert found.display_name == "MicroPython"
    assert found.language == "python"
    assert found.interrupt_mode == "signal"
    assert found.argv[0] == sys.executable
    assert Path(found.resource_dir, "logo-64x64.png").is_file()


def test_install_name_and_display_name(tmp_path: Path) -> None:
    args = ["--prefix", str(tmp_path), "--name", "mp-lab", "--display-name", "MicroPython (lab)"]
    assert install.main(args) == 0
    ksm = KernelSpecManager(kernel_dirs=[str(spec_dir(tmp_path).parent)])
    assert ksm.get_kernel_spec("mp-lab").display_name == "MicroPython (lab)"


def test_reinstall_replaces(tmp_path: Path) -> None:
    assert install.main(["--prefix", str(tmp_path), "--display-name", "Old"]) == 0
    assert install.main(["--prefix", str(tmp_path)]) == 0
    spec = json.loads((spec_dir(tmp_path) / "kernel.json").read_text())
    assert spec["display_name"] == "MicroPython"


def test_unwritable_prefix_gives_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A path under a regular file cannot be created, even by root (chmod would not stop root).
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    assert install.main(["--prefix", str(blocker / "sub")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "--user" in lines[0]
    assert "Traceback" not in captured.err


def test_invalid_name_gives_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install.main(["--prefix", str(tmp_path), "--name", "bad name"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert not spec_dir(tmp_path).parent.exists()


def test_default_is_sys_prefix_in_virtualenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(sys, "base_prefix", "/somewhere/else")
    assert install.default_location() == "sys-prefix"
    assert install.main([]) == 0
    assert (spec_dir(tmp_path) / "kernel.json").is_file()


def test_default_is_user_outside_virtualenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    assert install.default_location() == "user"
    assert install.main([]) == 0
    assert (tmp_path / "data" / "kernels" / "micropython" / "kernel.json").is_file()


def test_uninstall(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert install.main(["--prefix", str(tmp_path)]) == 0
    assert install.uninstall_main(["--prefix", str(tmp_path)]) == 0
    assert not spec_dir(tmp_path).exists()
    capsys.readouterr()
    assert install.uninstall_main(["--prefix", str(tmp_path)]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_installed_under_our_distribution_name() -> None:
    """PyPI's unrelated `mpkernel` also installs `mpkernel/`: it must not be here."""
    from importlib import metadata

    from mpkernel import DISTRIBUTION

    assert metadata.metadata(DISTRIBUTION)["Name"] == DISTRIBUTION
    assert install.import_name_clash() is None


def test_clash_with_the_other_mpkernel_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What pip leaves for PyPI's `mpkernel` 0.0.1: its dist-info on the import path.
    info = tmp_path / "mpkernel-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.3\nName: mpkernel\nVersion: 0.0.1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert install.main(["--prefix", str(tmp_path / "p")]) == 0
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("warning:")]
    assert "pip uninstall mpkernel" in line and "micropython-board-kernel" in line
