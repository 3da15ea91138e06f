"""esptool's messages and progress, routed into the notebook instead of the terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from esp_pylib.logger import EspLog, EspLogBase

Lines = Callable[[str], None]
ProgressSink = Callable[[int, int], None]


class NotebookLog(EspLogBase):
    """An esptool logger whose output goes to whatever operation runs now.

    `lines` receives esptool's messages as print would show them (each ends with its line
    end; "Connecting..." and the dots of each attempt come without one, as they happen);
    `on_progress` gets (done, total) for reads and writes. esp.open_chip sets `lines` for
    each chip session and esp._progress sets `on_progress` around each read or write.
    """

    def __init__(self) -> None:
        self.lines: Lines | None = None
        self.on_progress: ProgressSink | None = None
        self.verbose = False

    def _say(self, *args: Any, end: str = "\n") -> None:
        text = " ".join(str(a) for a in args)
        if (text.strip() or end != "\n") and self.lines is not None:
            self.lines(text.strip() + end if end == "\n" else text + end)

    def print(self, *args: Any, **kwargs: Any) -> None:
        self._say(*args, end=kwargs.get("end", "\n"))  # "Connecting..." then its dots

    def note(self, *args: Any) -> None:
        self._say("Note:", *args)

    def hint(self, *args: Any) -> None:
        self._say("Hint:", *args)

    def warn(self, *args: Any, suggestion: str | None = None) -> None:
        self._say("Warning:", *args, suggestion or "")

    def err(self, *args: Any, suggestion: str | None = None) -> None:
        self._say("Error:", *args, suggestion or "")

    def debug(self, *args: Any) -> None:
        if self.verbose:
            self._say(*args)

    def set_verbosity(self, mode: int | str) -> None:
        self.verbose = str(mode).lower() in ("verbose", "2")

    def progress_bar(
        self,
        cur_iter: int,
        total_iters: int,
        prefix: str = "",
        suffix: str = "",
        bar_length: int = 30,
    ) -> None:
        if self.on_progress is not None:
            self.on_progress(int(cur_iter), int(total_iters))


class WholeLines:
    """esptool's messages as whole lines, each prefixed, to `sink` (the kernel's log), for a
    chip whose instructions and warnings are no one's to act on: the simulated bootloader.
    Pieces without a line end ("Connecting..." and its dots) wait for the rest of the line."""

    def __init__(self, sink: Lines, prefix: str) -> None:
        self.sink = sink
        self.prefix = prefix
        self._line = ""

    def __call__(self, text: str) -> None:
        self._line += text
        *lines, self._line = self._line.split("\n")
        for line in lines:
            if line.strip():
                self.sink(self.prefix + line.strip())


LOG = NotebookLog()
EspLog.set_logger(LOG)
