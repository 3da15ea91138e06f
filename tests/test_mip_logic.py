"""The mip format's pure logic: specs, URLs, descriptions, folders, space; mpy-cross errors."""

from __future__ import annotations

import pytest

from mpkernel.errors import OperationError, UsageError
from mpkernel.libraries import mpy
from mpkernel.libraries.mip import (
    LibraryError,
    Spec,
    check_fits,
    description_url,
    hash_matches,
    lib_folder,
    mpy_tag,
    needs_compiling,
    parse_description,
    parse_spec,
    rewrite_url,
    single_file,
    space_needed,
)

INDEX = "https://micropython.org/pi/v2"


def test_specs() -> None:
    assert parse_spec("aioble") == Spec("aioble")
    assert parse_spec("aioble@0.4") == Spec("aioble", "0.4")
    assert parse_spec("github:org/repo@dev/x") == Spec("github:org/repo", "dev/x")
    assert parse_spec("https://host/a@b/x.py") == Spec("https://host/a@b/x.py")
    for bad in ("foo@", "@1.0", "-x", "github:org"):
        with pytest.raises(UsageError):  # what was typed: a usage error, not a failed install
            parse_spec(bad)
    assert issubclass(LibraryError, OperationError) and issubclass(mpy.MpyError, OperationError)


def test_urls_as_mip_builds_them() -> None:
    assert rewrite_url("github:org/repo/lib/x.py") == (
        "https://raw.githubusercontent.com/org/repo/HEAD/lib/x.py"
    )
    assert rewrite_url("github:org/repo/package.json", "v2") == (
        "https://raw.githubusercontent.com/org/repo/v2/package.json"
    )
    assert rewrite_url("gitlab:org/repo/x.py", "main") == (
        "https://gitlab.com/org/repo/-/raw/main/x.py"
    )
    assert rewrite_url("https://example.org/x.py", "main") == "https://example.org/x.py"
    assert description_url(Spec("aioble"), INDEX, "6") == f"{INDEX}/package/6/aioble/latest.json"
    assert description_url(Spec("aioble", "0.4"), INDEX + "/", "py") == (
        f"{INDEX}/package/py/aioble/0.4.json"
    )
    assert description_url(Spec("github:org/repo", "dev"), INDEX, "6") == (
        "https://raw.githubusercontent.com/org/repo/dev/package.json"
    )
    assert single_file(Spec("github:org/repo/src/m.py", "b1")).files[0].path == "m.py"


def test_mpy_tag_is_the_major_version() -> None:
    assert mpy_tag(2822) == "6"  # 1.29 unix port: v6.3, x64
    assert mpy_tag(None) == "py"
    assert mpy.mpy_major(0x0B06) == 6
    assert mpy.mpy_major(0) is None


def test_description_files_deps_and_relative_urls() -> None:
    doc = {
        "hashes": [["pkg/__init__.mpy", "0123abcd"]],
        "urls": [["pkg/extra.py", "src/extra.py"], ["b.py", "github:o/r/b.py"]],
        "deps": [["base", "latest"], ["other", "1.2"]],
        "version": "0.9",
    }
    url = "https://host/repo/package.json"
    p = parse_description(doc, Spec("github:o/r", "v1"), url, INDEX)
    assert p.version == "0.9"
    assert [(f.path, f.url, f.short_hash) for f in p.files] == [
        ("pkg/__init__.mpy", f"{INDEX}/file/01/0123abcd", "0123abcd"),
        ("pkg/extra.py", "https://host/repo/src/extra.py", None),
        ("b.py", "https://raw.githubusercontent.com/o/r/v1/b.py", None),
    ]
    assert p.deps == [Spec("base"), Spec("other", "1.2")]


@pytest.mark.parametrize("path", ["../boot.py", "/main.py", "a/../../x.py", "", "a//b.py"])
def test_description_cannot_write_outside_the_target(path: str) -> None:
    with pytest.raises(LibraryError, match="bad file path"):
        parse_description({"hashes": [[path, "0123abcd"]]}, Spec("evil"), "u", INDEX)


def test_bad_descriptions() -> None:
    for doc in ([], {"hashes": [["a.py"]]}, {"hashes": [["a.py", "zz"]]}, {"deps": [[1]]}):
        with pytest.raises(LibraryError):
            parse_description(doc, Spec("x"), "u", INDEX)


def test_lib_folder_as_mpremote_chooses() -> None:
    assert lib_folder(["", ".frozen", "/lib"]) == "/lib"
    assert lib_folder(["", "/rom/lib", "/flash/lib", "/lib"]) == "/flash/lib"
    assert lib_folder(["", ".frozen", "lib", "/sim"]) == "lib"  # the virtual board
    assert lib_folder(["", "/flash"]) is None


def test_hashes_and_what_is_compiled() -> None:
    assert hash_matches(b"abc", "ba7816bf")
    assert not hash_matches(b"abd", "ba7816bf")
    assert needs_compiling("pkg/mod.py", True)
    assert not needs_compiling("pkg/mod.py", False)
    assert not needs_compiling("main.py", True) and not needs_compiling("x/boot.py", True)
    assert not needs_compiling("mod.mpy", True)


def test_space_is_counted_in_whole_blocks() -> None:
    assert space_needed([1, 4096, 4097], 4096) == 4096 * 4 + 4096
    check_fits(["p"], [1000], 8192, 4096, "lib")
    with pytest.raises(LibraryError, match=r"^p, q: needs 12,288 bytes .* lib has 8,191 free"):
        check_fits(["p", "q"], [1000, 1000], 8191, 4096, "lib")


def test_compiler_errors_are_one_line() -> None:
    with pytest.raises(mpy.MpyError, match=r"^m.py: line 2: SyntaxError: invalid syntax$"):
        mpy.compile_source(b"x = 1\ndef f(:\n", "m.py", 0x0B06)
    assert mpy.compile_source(b"x = 1\n", "m.py", 0x0B06)[:2] == b"M\x06"
    assert mpy.compile_source(b"x = 1\n", "m.py", 5)[:2] == b"M\x05"
    with pytest.raises(mpy.MpyError, match=r"does not load \.mpy"):
        mpy.compile_source(b"x = 1\n", "m.py", None)
