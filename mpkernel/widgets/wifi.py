"""The `%wifi` panel: pick a scanned network, type its password, connect; live status.

Callbacks run in the kernel's thread (comm messages); services.wifi takes the connection's
lock for each board call. The password box never sends a typed
password back to the frontend and is cleared after every attempt, so no password stays in
the widget state that a notebook saves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import Unicode

from ..errors import MpkError
from ..services import wifi

if TYPE_CHECKING:
    from ..services.context import Context


class SecretPassword(widgets.Password):
    """A password box whose value only ever travels frontend -> kernel (except clearing)."""

    value = Unicode("", help="the password").tag(sync=True, echo_update=False)

    def _should_send_property(self, key: str, value: Any) -> bool:
        if key == "value" and value:
            return False
        return super()._should_send_property(key, value)


class WifiPanel(widgets.VBox):
    """Networks (dropdown), password, Connect and Rescan buttons, and a status line."""

    def __init__(self, kernel: Context, timeout: float = wifi.DEFAULT_TIMEOUT) -> None:
        self.kernel = kernel
        self.timeout = timeout
        self.networks = widgets.Dropdown(options=[], description="Network")
        self.password = SecretPassword(description="Password", placeholder="(open network: empty)")
        self.connect_button = widgets.Button(description="Connect", button_style="primary")
        self.rescan_button = widgets.Button(description="Rescan")
        self.status = widgets.Label(value="")
        self.connect_button.on_click(self.connect_clicked)
        self.rescan_button.on_click(self.rescan_clicked)
        super().__init__(
            [
                self.networks,
                self.password,
                widgets.HBox([self.connect_button, self.rescan_button]),
                self.status,
            ]
        )

    def rescan(self) -> None:
        """Scan and fill the dropdown (strongest first); errors go to the status line."""
        self.status.value = "Scanning..."
        try:
            nets = wifi.scan(self.kernel.connection)
        except MpkError as exc:
            self.status.value = f"Scan failed: {exc}"
            return
        visible = [n for n in nets if n.ssid]
        self.networks.options = [
            (f"{n.ssid}  {wifi.bars(n.rssi)} {n.rssi} dBm  {n.security}", n.ssid) for n in visible
        ]
        if visible and self.networks.value is None:
            self.networks.value = visible[0].ssid  # the strongest signal
        hidden = len(nets) - len(visible)
        extra = f" (+{hidden} hidden: use %wifi connect SSID)" if hidden else ""
        self.status.value = f"{len(visible)} network(s) found{extra}."

    def rescan_clicked(self, _button: object) -> None:
        self.rescan()

    def connect_clicked(self, _button: object) -> None:
        """Connect to the chosen network with the typed password, then clear the password."""
        ssid = self.networks.value
        try:
            if not ssid:
                self.status.value = "Choose a network first (Rescan to list them)."
                return
            self.connect_button.disabled = True
            self.status.value = f"Connecting to {ssid}..."
            key = self.password.value
            self.password.value = ""
            outcome = wifi.connect(self.kernel.connection, ssid, key, self.timeout)
            del key
            if outcome.ok:
                ip = wifi.ip_address(wifi.info(self.kernel.connection))
                self.status.value = (
                    f"{outcome.message} IP address {ip}. The board reconnects at boot; "
                    "%wifi forget clears that."
                )
            else:
                self.status.value = f"Failed: {outcome.message}."
        except MpkError as exc:
            self.status.value = f"Failed: {exc}"
        finally:
            self.password.value = ""
            self.connect_button.disabled = False
