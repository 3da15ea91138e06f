"""Live plots of the numbers a board cell prints (%%plot): PNG frames updated in place."""

from __future__ import annotations

import base64
import io
import math
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from IPython.display import display, update_display

if TYPE_CHECKING:
    from ..services.context import Context

#: Seconds between live frames (at most ~5 per second).
FRAME_INTERVAL = 0.2

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|NaN|Inf)"
_PAIR = r"([A-Za-z_][\w.]*)\s*[=:]\s*(" + _NUM + r")"
_SEP = r"(?:\s*[,;]\s*|\s+)"
_PAIRS_LINE = re.compile(r"\s*" + _PAIR + r"(?:" + _SEP + _PAIR + r")*\s*[,;]?\s*")
_PAIR_RE = re.compile(_PAIR)
_NUMS_LINE = re.compile(r"\s*(?:" + _NUM + r")(?:" + _SEP + r"(?:" + _NUM + r"))*\s*[,;]?\s*")
_NUM_RE = re.compile(_NUM)
#: A partial line that cannot become a line of numbers is shown at once (prompts).
_MAYBE_NUMERIC = re.compile(r"[\w\s.,;:=+-]*")


def _number(text: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_line(line: str) -> dict[str, float | int] | None:
    """The values of one printed line, by series name; None if it is not numeric."""
    if not line.strip():
        return None
    if _PAIRS_LINE.fullmatch(line):
        return {m.group(1): _number(m.group(2)) for m in _PAIR_RE.finditer(line)}
    if _NUMS_LINE.fullmatch(line):
        return {f"y{i}": _number(m.group(0)) for i, m in enumerate(_NUM_RE.finditer(line))}
    return None


class LivePlot:
    """Collects rows from board output; shows them as a PNG updated in place."""

    def __init__(self, kernel: Context, window: int = 0, x: str = "index") -> None:
        self.kernel = kernel
        self.window = window
        self.x = x
        self.start = time.monotonic()
        self.columns: dict[str, list[Any]] = {}
        self.times: list[float] = []
        self.pending = ""
        self._id = f"mpkernel-plot-{uuid.uuid4().hex}"
        self._shown = False
        self._last_frame = 0.0
        self._dirty = False
        # Import matplotlib now, before the board runs: slow the first time, and the stop
        # button should interrupt the board, not an import.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self._figure, self._canvas = Figure, FigureCanvasAgg

    # -- data ---------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        """A tap: receives the board's output as it arrives."""
        text = self.pending + text
        lines = text.split("\n")
        self.pending = lines.pop()
        shown = []
        for line in lines:
            row = parse_line(line)
            if row is None:
                shown.append(line + "\n")
            else:
                self._add(row)
        if self.pending and not _MAYBE_NUMERIC.fullmatch(self.pending):
            shown.append(self.pending)
            self.pending = ""
        if shown:
            self.kernel.say("".join(shown))
        if self._dirty and time.monotonic() - self._last_frame >= FRAME_INTERVAL:
            self._frame()

    def _add(self, row: dict[str, float | int]) -> None:
        n = len(self.times)
        for name in row:
            if name not in self.columns:
                self.columns[name] = [math.nan] * n
        for name, values in self.columns.items():
            values.append(row.get(name, math.nan))
        self.times.append(round(time.monotonic() - self.start, 6))
        self._dirty = True

    def data(self) -> Any:
        """What %%plot leaves in _plot: a DataFrame (pandas) or a dict of lists."""
        columns: dict[str, list[Any]] = dict(self.columns)
        time_name = "time" if "time" not in columns else "host_time"
        columns[time_name] = list(self.times)
        try:
            import pandas as pd
        except ImportError:
            return columns
        return pd.DataFrame(columns)

    # -- display ---------------------------------------------------------------------------

    def _png(self, final: bool) -> bytes:
        fig = self._figure(figsize=(7, 3.5), dpi=80)
        self._canvas(fig)
        ax = fig.add_subplot()
        n = len(self.times)
        first = 0 if final or not self.window else max(0, n - self.window)
        xs: list[float] = self.times[first:] if self.x == "time" else list(range(first, n))
        for name, values in self.columns.items():
            ax.plot(xs, values[first:], label=name)
        ax.set_xlabel("seconds" if self.x == "time" else "sample")
        if len(self.columns) > 1:
            ax.legend(loc="upper left", fontsize="small")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    def _summary(self) -> str:
        names = ", ".join(self.columns)
        return f"<plot: {len(self.times)} points of {names}>"

    def _frame(self, final: bool = False) -> None:
        self._last_frame = time.monotonic()
        self._dirty = False
        bundle = {
            "image/png": base64.b64encode(self._png(final)).decode("ascii"),
            "text/plain": self._summary(),
        }
        if self._shown:
            update_display(bundle, raw=True, display_id=self._id)
        else:
            display(bundle, raw=True, display_id=self._id)
            self._shown = True
        self._last_frame = time.monotonic()

    def finish(self) -> None:
        """The cell ended: parse what is left, show the final (static) plot."""
        if self.pending:
            rest, self.pending = self.pending, ""
            row = parse_line(rest)
            if row is None:
                self.kernel.say(rest)
            else:
                self._add(row)
        if self.times:
            self._frame(final=True)
