"""The prebuilt JupyterLab extension: shipped in the wheel, found by JupyterLab, and the same
as what its TypeScript source builds to."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "labextension"
BUNDLE = ROOT / "mpkernel" / "labextension"
NAME = "mpkernel-labextension"
BIN = Path(sys.executable).parent


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_bundle_names_its_entry_point() -> None:
    meta = json.loads((BUNDLE / "package.json").read_text())
    assert meta["name"] == NAME
    load = meta["jupyterlab"]["_build"]["load"]
    assert (BUNDLE / load).is_file(), f"{load} is missing from the prebuilt bundle"


def test_jupyterlab_lists_the_extension_enabled() -> None:
    jupyter = BIN / "jupyter"
    if not jupyter.exists():
        pytest.skip("no jupyter next to this Python (sh install/test-tools.sh)")
    out = subprocess.run(
        [str(jupyter), "labextension", "list"], capture_output=True, text=True, timeout=120
    )
    lines = [line for line in (out.stdout + out.stderr).splitlines() if NAME in line]
    assert lines, out.stdout + out.stderr
    assert "enabled" in lines[0] and "OK" in lines[0], lines[0]


@pytest.mark.timeout(600)  # a wheel build under load
def test_wheel_ships_the_bundle(tmp_path: Path) -> None:
    """The wheel (built as pip builds it) has the bundle as shared data: no Node.js needed."""
    if not (BIN / "pip").exists():
        pytest.skip("no pip next to this Python")
    subprocess.run(
        [str(BIN / "pip"), "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    share = f"share/jupyter/labextensions/{NAME}/"
    shipped = {n.split(share, 1)[1] for n in names if share in n}
    assert {*files_of(BUNDLE), "install.json"} <= shipped


@pytest.mark.timeout(1200)  # npm ci + webpack: about 2 min alone, several times that under load
def test_prebuilt_bundle_matches_source(tmp_path: Path) -> None:
    """Rebuild the extension from labextension/ and compare it, file for file, with the
    committed bundle (run `npm run build` in labextension/ and commit when this fails)."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("Node.js and npm are needed to rebuild the extension")
    if not (BIN / "jupyter").exists():
        pytest.skip("no jupyter next to this Python (sh install/test-tools.sh)")
    work = tmp_path / "labextension"
    shutil.copytree(
        SOURCE, work, ignore=shutil.ignore_patterns("node_modules", "lib", "*.tsbuildinfo")
    )
    env = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    modules = SOURCE / "node_modules"
    if modules.is_dir():
        try:  # hard links: quick, and the build sees real files as in the source folder
            shutil.copytree(modules, work / "node_modules", symlinks=True, copy_function=os.link)
        except OSError:
            shutil.rmtree(work / "node_modules", ignore_errors=True)
            shutil.copytree(modules, work / "node_modules", symlinks=True)
    else:
        ci = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=work, env=env, capture_output=True,
            text=True, timeout=600,
        )  # fmt: skip
        if ci.returncode:
            pytest.skip(f"npm ci failed (no npm registry?): {ci.stderr.strip()[-300:]}")
    build = subprocess.run(
        [npm, "run", "build"], cwd=work, env=env, capture_output=True, text=True, timeout=600
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    rebuilt = files_of(tmp_path / "mpkernel" / "labextension")
    committed = files_of(BUNDLE)
    assert sorted(rebuilt) == sorted(committed), "the bundle's files differ from a rebuild"
    changed = [name for name in rebuilt if rebuilt[name] != committed[name]]
    assert not changed, f"rebuilt files differ: {changed}"


def test_request_map_is_the_same_on_both_sides() -> None:
    """Every request the kernel answers is typed in wire.py and in tokens.ts, with the same
    argument and result fields, and the TypeScript needs no `as unknown as` casts."""
    from mpkernel.extension import wire
    from mpkernel.extension.channel import REQUESTS

    tokens = (SOURCE / "src" / "tokens.ts").read_text()
    body = re.search(r"export interface IRequests \{(.*?)\n\}", tokens, re.S)
    assert body is not None
    ts_ops = re.findall(r"^  (\w+): \{", body.group(1), re.M)
    assert sorted(ts_ops) == sorted(wire.REQUESTS) == sorted(REQUESTS)
    entries = dict(re.findall(r"^  (\w+): (\{.*?)(?=^  \w+: \{|\Z)", body.group(1), re.M | re.S))
    for op, (args, _result) in wire.REQUESTS.items():
        ts_args = re.search(r"args: (\{[^}]*\}|Record<string, never>)", entries[op])
        assert ts_args is not None, op
        fields = re.findall(r"(\w+)\??:", ts_args.group(1))
        assert sorted(fields) == sorted(args.__annotations__), op
    for name in (SOURCE / "src").glob("*.ts"):
        assert "as unknown as" not in name.read_text(), name


def test_schema_declares_menus_and_settings() -> None:
    """Menus, context menus and settings come from schema/plugin.json (JupyterLab's way),
    and the built bundle ships it."""
    schema = json.loads((SOURCE / "schema" / "plugin.json").read_text())
    context = {item["command"] for item in schema["jupyter.lab.menus"]["context"]}
    assert context == {"mpkernel:upload-to-board", "mpkernel:run-on-board"}
    assert "refreshDelay" in schema["properties"]
    assert (BUNDLE / "schemas" / NAME / "plugin.json").is_file()
    assert "app.contextMenu.addItem" not in (SOURCE / "src" / "index.ts").read_text()


#: A string literal in TypeScript ('…', "…" or `…`).
_LITERAL = re.compile(r"""(?<![\w.])(['"`])((?:\\.|(?!\1).)*)\1""", re.S)


def untranslated(source: str) -> list[str]:
    """The sentences of `source` (literals that start with a capitalised word) that do not go
    through the translator: neither `trans.__(…)` nor `trans._n(…, …)`. Comments, imports,
    console messages (for developers), the plugin's and the token's descriptions are not
    shown to users."""
    code = re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: " " * len(m.group()), source, flags=re.S)
    found = []
    for m in _LITERAL.finditer(code):
        if not re.match(r"[A-Z][a-z]+ \S", m.group(2)):
            continue
        before = code[: m.start()][-300:]
        line = before.rsplit("\n", 1)[-1]
        if re.search(r"(__|_n)\(\s*$|(_n|new Token<\w+>)\(\s*(['\"]).*?\3,\s*$", before, re.S):
            continue
        if re.search(r"console\.|import |description:", line):
            continue
        found.append(m.group(2)[:70])
    return found


def test_page_strings_go_through_the_translator() -> None:
    """What the extension says to users (the panel, the Web Serial link's errors, the board
    drive) goes through JupyterLab's ITranslator, so a language pack can translate it."""
    assert untranslated("throw new Error('The port is closed.');") == ["The port is closed."]
    assert untranslated("x(trans.__(\n  'The port is closed.'\n));") == []
    left = {
        name.name: untranslated(name.read_text()) for name in sorted((SOURCE / "src").glob("*.ts"))
    }
    assert not any(left.values()), {name: found for name, found in left.items() if found}
