"""Progress of long work: an ipywidgets bar in notebooks, a text line everywhere else."""

from __future__ import annotations

import time
import uuid

import ipywidgets as widgets
from IPython.display import display, update_display

from ..units import human_bytes

__all__ = ["Progress", "human_bytes", "widget_bundle"]

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def widget_bundle(widget: widgets.Widget, text: str) -> dict[str, object]:
    """A display of `widget`, with `text` for frontends without widgets (and saved files)."""
    return {
        "text/plain": text,
        _WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id},
    }


class Progress:
    """A progress display for `total` units of work (bytes unless `unit` says otherwise).

    One display carries both a widget view (JupyterLab, Notebook) and a text/plain line
    (jupyter console, saved notebooks, frontends without widgets); both update in place,
    at most every `interval` seconds.
    """

    def __init__(self, label: str, total: int, unit: str = "bytes", interval: float = 0.2):
        self.label = label
        self.total = max(int(total), 0)
        self.unit = unit
        self.interval = interval
        self.done = 0
        self.start = time.monotonic()
        self._last = 0.0
        self._id = f"mpkernel-progress-{uuid.uuid4().hex}"
        self.bar = widgets.IntProgress(
            value=0, min=0, max=max(self.total, 1), description=label, bar_style="info"
        )
        self.text = widgets.Label(value=self._status())
        self.box = widgets.HBox([self.bar, self.text])
        display(self._bundle(), raw=True, display_id=self._id)

    def _status(self) -> str:
        if self.unit == "bytes":
            return f"{human_bytes(self.done)} / {human_bytes(self.total)}"
        return f"{self.done} / {self.total} {self.unit}"

    def _line(self) -> str:
        pct = 100 * self.done / self.total if self.total else 100
        return f"{self.label}: {pct:3.0f}% ({self._status()})"

    def _bundle(self) -> dict[str, object]:
        return widget_bundle(self.box, self._line())

    def update(self, done: int, total: int | None = None) -> None:
        """Report progress; cheap to call often."""
        self.done = done
        if total is not None and total != self.total:
            self.total = total
            self.bar.max = max(total, 1)
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._show()

    def _show(self) -> None:
        self.bar.value = min(self.done, self.bar.max)
        self.text.value = self._status()
        update_display(self._bundle(), raw=True, display_id=self._id)

    def finish(self, summary: str | None = None, ok: bool = True) -> str:
        """Final state: full bar (or red on failure) and a summary line; returns the summary."""
        seconds = time.monotonic() - self.start
        if summary is None:
            rate = self.done / seconds if seconds > 0 else 0.0
            summary = (
                f"{self.label}: {human_bytes(self.done)} in {seconds:.2f} s ({human_bytes(rate)}/s)"
                if self.unit == "bytes"
                else f"{self.label}: {self.done} {self.unit} in {seconds:.2f} s"
            )
        self.bar.bar_style = "success" if ok else "danger"
        self.bar.value = self.bar.max if ok else min(self.done, self.bar.max)
        self.text.value = summary
        update_display(widget_bundle(self.box, summary), raw=True, display_id=self._id)
        return summary
