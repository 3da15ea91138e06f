"""Finding boards: the serial ports present and which of them look like MicroPython boards."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports

#: USB VID:PID of the USB-serial chips and native-USB MicroPython boards we recognise.
KNOWN_USB_IDS: dict[tuple[int, int], str] = {
    (0x10C4, 0xEA60): "CP210x USB-serial",
    (0x1A86, 0x7523): "CH340 USB-serial",
    (0x1A86, 0x5523): "CH341 USB-serial",
    (0x1A86, 0x55D4): "CH9102 USB-serial",
    (0x0403, 0x6001): "FTDI FT232R USB-serial",
    (0x0403, 0x6010): "FTDI FT2232 USB-serial",
    (0x0403, 0x6011): "FTDI FT4232 USB-serial",
    (0x0403, 0x6014): "FTDI FT232H USB-serial",
    (0x0403, 0x6015): "FTDI FT-X USB-serial",
    (0x303A, 0x1001): "Espressif USB-JTAG/serial (ESP32-C3/S3/C6)",
    (0x303A, 0x4001): "Espressif native USB (MicroPython on ESP32-S2/S3)",
    (0x2E8A, 0x0005): "Raspberry Pi Pico (MicroPython)",
    (0xF055, 0x9800): "MicroPython pyboard",
    (0xF055, 0x9801): "MicroPython pyboard",
    (0xF055, 0x9802): "MicroPython board (native USB)",
    (0x239A, 0x80F4): "Adafruit board (MicroPython)",
}


@dataclass
class Port:
    """One serial port as the operating system reports it."""

    device: str
    vid: int | None
    pid: int | None
    description: str

    @property
    def usb_id(self) -> str:
        return f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None else "-"

    @property
    def known_as(self) -> str | None:
        if self.vid is None or self.pid is None:
            return None
        return KNOWN_USB_IDS.get((self.vid, self.pid))

    def as_dict(self) -> dict[str, object]:
        """The port for scripts (%ports --json)."""
        return {
            "device": self.device,
            "vid": self.vid,
            "pid": self.pid,
            "usb_id": self.usb_id if self.vid is not None else None,
            "description": self.description,
            "board": self.known_as,
        }


def list_serial_ports() -> list[Port]:
    """All serial ports, sorted by device name."""
    ports = [Port(p.device, p.vid, p.pid, p.description or "") for p in list_ports.comports()]
    return sorted(ports, key=lambda p: p.device)


def find_boards() -> list[Port]:
    """The ports whose USB id is one that MicroPython boards use."""
    return [p for p in list_serial_ports() if p.known_as]


def format_ports(ports: list[Port]) -> str:
    """A small table of ports for the notebook."""
    if not ports:
        return "No serial ports found."
    width = max(len(p.device) for p in ports)
    lines = [f"{'port'.ljust(width)}  VID:PID    description"]
    for p in ports:
        note = f"  <- {p.known_as}" if p.known_as else ""
        lines.append(f"{p.device.ljust(width)}  {p.usb_id:<9}  {p.description}{note}")
    return "\n".join(lines)
