"""Copying Python values between the host and the board, streamed in small pieces.

Board -> host (`pull`): a small writer on the board prints the value one piece per line
(containers element by element, long str/bytes in slices), so the board never holds the
whole repr. The host rebuilds the value from those lines.

Host -> board (`push`): the host cuts the value into statements of at most ~2 KB that build
it on the board on a stack of lists (`_mpk_S`), then binds the name.
"""

from __future__ import annotations

import ast
import contextlib
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any

from ..board.helpers import helper
from ..errors import OperationError
from ..units import human_bytes

#: Characters of code per exec when pushing (small enough for tiny boards' compilers).
CHUNK = 2000
#: str/bytes longer than this travel in slices of this many characters or bytes (the board's
#: writer, helpers/pull_writer.py, slices what it sends the same way).
SLICE = 256
#: Board memory a pushed value may need, relative to its size there, plus a fixed reserve
#: (building it needs some slack: list growth, joining str/bytes slices, compiling chunks).
SAFETY_FACTOR = 2
RESERVE = 8192

SUPPORTED = "numbers, str, bytes, bytearray, None/True/False and lists, tuples, dicts, sets of them"


class TransferError(OperationError):
    """The value cannot be transferred; the message says why and what to do."""


# -- board -> host ---------------------------------------------------------------------------


def pull_code(name: str) -> str:
    """Board code that prints `name`'s value in pieces, or '!' if it is not defined."""
    return (
        helper("pull_writer")
        + "try:\n _mpk_v="
        + name
        + "\nexcept NameError:\n print('!')\nelse:\n _mpk_w(_mpk_v)\n del _mpk_v\n"
        + "del _mpk_w,_mpk_n\n"
    )


class NotDefined(TransferError):
    pass


def _type_name(text: str) -> str:
    """The name in a type's repr: <class 'function'> -> function."""
    text = text.strip()
    if text.startswith("<class '") and text.endswith("'>"):
        return text[8:-2]
    return text


class _SpecialFloats(ast.NodeTransformer):
    """MicroPython prints inf and nan bare; read them as floats."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in ("inf", "nan"):
            return ast.copy_location(ast.Constant(float(node.id)), node)
        return node


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except ValueError:
        if "inf" in text or "nan" in text:
            tree = _SpecialFloats().visit(ast.parse(text.strip(), mode="eval"))
            return ast.literal_eval(tree)
        return _literal_long_ints(text)
    except SyntaxError:
        return _literal_long_ints(text)


def _literal_long_ints(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        # Python limits int <-> str conversions to 4300 digits; the board does not.
        if not hasattr(sys, "set_int_max_str_digits"):
            raise
        old = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            return ast.literal_eval(text)
        finally:
            sys.set_int_max_str_digits(old)


def parse_pulled(text: str, name: str) -> Any:
    """Rebuild the value printed by pull_code's writer."""
    root: list[Any] = []
    stack: list[tuple[str, list[Any]]] = [("", root)]
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line:
            continue
        tag, rest = line[0], line[1:]
        top = stack[-1][1]
        if tag == "!":
            raise NotDefined(f"{name} is not defined on the board.")
        if tag == "?":
            what = "is" if len(stack) == 1 else "contains"
            raise TransferError(
                f"{name} {what} a {_type_name(rest)} on the board: %pull copies only "
                f"{SUPPORTED}. Convert it on the board first (e.g. to a list or a str)."
            )
        if tag == "=":
            try:
                top.append(_literal(rest))
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise TransferError(
                    f"{name}: the board's repr {rest[:60]!r} cannot be read back as a value."
                ) from None
        elif tag == "x":
            top.extend(_literal(rest))
        elif tag in "[(S{sbB":
            stack.append((tag, []))
        elif tag == "]":
            if len(stack) == 1:
                raise TransferError(f"{name}: the board's answer was garbled; try again.")
            kind, items = stack.pop()
            stack[-1][1].append(_build(kind, items))
        else:
            raise TransferError(f"{name}: unexpected output from the board: {line[:80]!r}")
    if len(stack) != 1 or len(root) != 1:
        raise TransferError(f"{name}: the board's answer was incomplete; try again.")
    return root[0]


def _build(kind: str, items: list[Any]) -> Any:
    if kind == "[":
        return items
    if kind == "(":
        return tuple(items)
    if kind == "S":
        return set(items)
    if kind == "{":
        return dict(zip(items[::2], items[1::2], strict=True))
    if kind == "s":
        return "".join(items)
    if kind == "b":
        return b"".join(items)
    return bytearray(b"".join(items))


# -- host -> board ---------------------------------------------------------------------------

_CLOSE: dict[type, int] = {
    list: 0, tuple: 1, str: 2, bytes: 3, bytearray: 4, dict: 5, set: 6, frozenset: 6
}  # fmt: skip


def push_finish(name: str) -> str:
    return name + "=_mpk_S[0][0]\n" + helper("push_cleanup")


def board_size(value: Any) -> int:
    """About how many bytes of heap value takes on a board (64-bit pointers, headers)."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return 0 if -(2**30) <= value < 2**30 else 16 + value.bit_length() // 8
    if isinstance(value, float):
        return 16
    if isinstance(value, str):
        return 24 + len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray)):
        return 24 + len(value)
    if isinstance(value, dict):
        return 32 + 24 * len(value) + sum(board_size(k) + board_size(v) for k, v in value.items())
    return 32 + 8 * len(value) + sum(board_size(v) for v in value)


def check_pushable(value: Any, name: str, _depth: int = 0) -> None:
    """Raise TransferError if the board cannot hold this kind of value."""
    if value is None or isinstance(value, (bool, int, float, str, bytes, bytearray)):
        return
    if isinstance(value, (list, tuple, set, frozenset)):
        if _depth > 50:
            raise TransferError(f"{name} is nested too deeply (or contains itself).")
        for item in value:
            check_pushable(item, name, _depth + 1)
        return
    if isinstance(value, dict):
        if _depth > 50:
            raise TransferError(f"{name} is nested too deeply (or contains itself).")
        for k, v in value.items():
            check_pushable(k, name, _depth + 1)
            check_pushable(v, name, _depth + 1)
        return
    kind = type(value)
    what = f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")
    hint = " (e.g. arr.tolist())" if hasattr(value, "tolist") else ""
    subject = f"{name} is" if _depth == 0 else f"{name} contains"
    raise TransferError(
        f"{subject} a {what}, which the board cannot hold: %push copies only {SUPPORTED}; "
        f"convert to a list or bytes first{hint}."
    )


def literal(value: Any) -> str:
    """MicroPython source that evaluates to value (checked with check_pushable)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value)) if value.bit_length() < 4000 else hex(int(value))
    if isinstance(value, float):
        value = float(value)
        if math.isnan(value):
            return "float('nan')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "float('-inf')"
        return repr(value)
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, bytes):
        return repr(bytes(value))
    if isinstance(value, bytearray):
        return "bytearray(" + repr(bytes(value)) + ")"
    if isinstance(value, list):
        return "[" + ",".join(literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + "".join(literal(v) + "," for v in value) + ")"
    if isinstance(value, (set, frozenset)):
        return "set([" + ",".join(literal(v) for v in value) + "])"
    return "{" + ",".join(literal(k) + ":" + literal(v) for k, v in value.items()) + "}"


def _ops(value: Any) -> Iterator[tuple[str, str]]:
    """('item', source) / ('open', '') / ('close', flag) steps that build value."""
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        text = literal(value)
        if len(text) <= CHUNK // 2:
            yield ("item", text)
            return
        yield ("open", "")
        if isinstance(value, dict):
            for k, v in value.items():
                yield from _ops(k)
                yield from _ops(v)
        else:
            for v in value:
                yield from _ops(v)
        yield ("close", str(_CLOSE[dict if isinstance(value, dict) else _base(value)]))
    elif isinstance(value, (str, bytes, bytearray)) and len(value) > SLICE:
        yield ("open", "")
        if isinstance(value, str):
            for i in range(0, len(value), SLICE):
                yield ("item", repr(str(value[i : i + SLICE])))
        else:
            data = bytes(value)
            for i in range(0, len(data), SLICE):
                yield ("item", repr(data[i : i + SLICE]))
        yield ("close", str(_CLOSE[bytearray if isinstance(value, bytearray) else _base(value)]))
    else:
        yield ("item", literal(value))


def _base(value: Any) -> type:
    for kind in (list, tuple, frozenset, set, str, bytes):
        if isinstance(value, kind):
            return kind
    raise TypeError(type(value))


def push_chunks(value: Any) -> Iterator[str]:
    """Board code, in execs of at most ~CHUNK characters, that builds value in _mpk_S[0][0]."""
    lines: list[str] = []
    size = 0
    items: list[str] = []
    items_size = 0

    def flush_items() -> None:
        nonlocal items, items_size, size
        if items:
            line = "_mpk_S[-1].extend([" + ",".join(items) + "])"
            lines.append(line)
            size += len(line) + 1
            items, items_size = [], 0

    for op, text in _ops(value):
        if op == "item":
            if items and items_size + len(text) > CHUNK:
                flush_items()
            items.append(text)
            items_size += len(text) + 1
        else:
            flush_items()
            line = "_mpk_S.append([])" if op == "open" else "_mpk_c(" + text + ")"
            lines.append(line)
            size += len(line) + 1
        if size + items_size >= CHUNK:
            flush_items()
            yield "\n".join(lines) + "\n"
            lines, size = [], 0
    flush_items()
    if lines:
        yield "\n".join(lines) + "\n"


def push(
    exec_code: Callable[[str], str],
    value: Any,
    name: str,
    on_progress: Callable[[int, int], None] | None = None,
    free: int | None = None,
) -> int:
    """Build value on the board as `name`; return the bytes of code sent.

    exec_code runs board code and returns what it printed (raising on board errors).
    free: the board's free heap, to refuse what does not fit.
    """
    check_pushable(value, name)
    need = board_size(value) * SAFETY_FACTOR + RESERVE
    if free is not None and need > free:
        raise TransferError(
            f"{name} is too big for the board: it needs about {human_bytes(need)} "
            f"but the board has {human_bytes(free)} free (gc.mem_free()). "
            "Send a smaller part at a time."
        )
    chunks = list(push_chunks(value))
    total = sum(len(c.encode()) for c in chunks)
    exec_code(helper("push_start"))
    done = 0
    try:
        for chunk in chunks:
            exec_code(chunk)
            done += len(chunk.encode())
            if on_progress is not None:
                on_progress(done, total)
        exec_code(push_finish(name))
    except BaseException:
        with contextlib.suppress(Exception):  # best effort: the first error matters more
            exec_code(helper("push_cleanup"))
        raise
    return total
