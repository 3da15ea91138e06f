"""Widget forms for the chip magics: the %flash panel and the %erase confirmation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as widgets
from IPython.display import display

from ..errors import MpkError
from ..services import flashing
from ..services.connection import list_serial_ports
from ..services.flashing import FAST_BAUD, ChipLink, FlashOptions, Report
from .progress import Progress, widget_bundle

if TYPE_CHECKING:
    from ..services.context import Context

BAUDS = [115_200, 230_400, 460_800, 921_600]
MODES = ["keep", "dio", "qio", "dout"]


def report_to(kernel: Context) -> Report:
    """Messages to the cell's output, progress as bars, esptool's own messages to the cell
    too (among them "hold GPIO0 low and press reset now" while esptool waits), except for
    the simulated bootloader: those go to the kernel's log."""
    return Report(
        say=lambda text, error=False: kernel.say(text, "stderr" if error else "stdout"),
        progress=Progress,
        log=kernel.say,
        quiet=lambda line: kernel.log.info("%s", line),
    )


class ConfirmErase:
    """Two buttons: erase the flash now, or cancel."""

    def __init__(self, kernel: Context, link: ChipLink, chip: str) -> None:
        self.kernel = kernel
        self.link = link
        self.question = widgets.HTML(f"<b>Erase the whole flash of this {chip}?</b>")
        self.yes = widgets.Button(description="Erase flash", button_style="danger", icon="trash")
        self.no = widgets.Button(description="Cancel")
        self.status = widgets.Label("")
        self.out = widgets.Output()
        self.yes.on_click(self.erase_clicked)
        self.no.on_click(self.cancel_clicked)
        self.box = widgets.VBox(
            [self.question, widgets.HBox([self.yes, self.no]), self.status, self.out]
        )

    def show(self) -> None:
        display(widget_bundle(self.box, "Confirm in the widget, or run %erase --yes."), raw=True)

    def _done(self, text: str) -> None:
        self.status.value = text
        self.yes.disabled = self.no.disabled = True

    def cancel_clicked(self, _: object) -> None:
        self._done("Cancelled: the flash was not touched.")

    def erase_clicked(self, _: object) -> None:
        self.yes.disabled = self.no.disabled = True
        self.status.value = "Erasing..."
        with self.out:
            try:
                flashing.erase(self.kernel.connection, self.link, report_to(self.kernel))
            except MpkError as exc:
                self._done(f"Failed: {exc}")
                return
        self._done("Erased.")


class FlashPanel:
    """Port, firmware file, baud and options, a Flash button, progress and the outcome."""

    def __init__(self, kernel: Context) -> None:
        self.kernel = kernel
        ports = [p.device for p in list_serial_ports()]
        mine = kernel.board.transport.tool_port if kernel.board is not None else None
        if mine is None and kernel.board is None and flashing.page_holds_port():
            mine = flashing.LINK  # a board on the page with no MicroPython yet
        if mine:
            ports = [mine, *[p for p in ports if p != mine]]
        if flashing.simulator_available():
            ports.append("mock")
        self.port = widgets.Combobox(
            value=ports[0] if ports else "",
            options=ports,
            description="Port",
            placeholder="/dev/ttyUSB0",
            ensure_option=False,
        )
        self.file = widgets.Text(description="Firmware", placeholder="ESP8266_GENERIC.bin")
        self.address = widgets.Text(value="0x0", description="Address", placeholder="0x1000")
        self.baud = widgets.Dropdown(options=BAUDS, value=FAST_BAUD, description="Baud")
        self.mode = widgets.Dropdown(options=MODES, value="keep", description="Flash mode")
        self.erase = widgets.Checkbox(value=True, description="Erase the flash first")
        self.button = widgets.Button(description="Flash", button_style="primary", icon="bolt")
        self.status = widgets.Label("")
        self.out = widgets.Output()
        self.button.on_click(self.flash_clicked)
        self.box = widgets.VBox(
            [
                self.port,
                self.file,
                self.address,
                widgets.HBox([self.baud, self.mode]),
                self.erase,
                self.button,
                self.status,
                self.out,
            ]
        )

    def show(self) -> None:
        text = "Flash panel: or run %flash FIRMWARE.bin --port PORT"
        display(widget_bundle(self.box, text), raw=True)

    def options(self) -> FlashOptions:
        """The panel's choices as the flashing service's options (UsageError if one is bad)."""
        return FlashOptions(
            firmware=Path(self.file.value.strip()).expanduser(),
            addr=flashing.parse_address(self.address.value.strip() or "0x0"),
            link=ChipLink(self.port.value.strip() or None, self.baud.value),
            flash_mode=self.mode.value,
            erase=self.erase.value,
        )

    def flash_clicked(self, _: object) -> None:
        if not self.file.value.strip():
            self.status.value = "Choose a firmware file first."
            return
        path = Path(self.file.value.strip()).expanduser()
        self.button.disabled = True
        self.status.value = f"Flashing {path.name}..."
        try:
            with self.out:  # an Output widget swallows exceptions: catch ours inside it
                try:
                    flashing.flash(self.kernel.connection, self.options(), report_to(self.kernel))
                except MpkError as exc:
                    self.status.value = f"Failed: {exc}"
                    return
            self.status.value = f"Done: {path.name} written and verified."
        finally:
            self.button.disabled = False
