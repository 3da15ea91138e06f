"""The virtual board's `network`: a SIMULATED ESP8266-style WiFi, no radio involved.

SIMULATED: nothing here touches a real network. It models what notebooks see on an
ESP8266: a station (STA_IF) that scans a fixed list of access points and connects after a
short CONNECTING phase (GOT_IP, WRONG_PASSWORD or NO_AP_FOUND), and an access point
(AP_IF). Like the ESP8266, the station's network is saved in "flash" (the file .simwifi in
the board's root) and the station reconnects to it at start; config(ssid='', key='') on
the station clears it.
"""

import time as _time

SIMULATED = True
STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = 2
STAT_NO_AP_FOUND = 3
STAT_CONNECT_FAIL = 4
STAT_GOT_IP = 5
AUTH_OPEN = 0
AUTH_WEP = 1
AUTH_WPA_PSK = 2
AUTH_WPA2_PSK = 3
AUTH_WPA_WPA2_PSK = 4

_FILE = ".simwifi"
_ZERO = ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")
# (ssid, bssid, channel, RSSI, authmode, hidden, password)
_APS = (
    (b"MakerSpace", b"\x24\x0a\xc4\x11\x22\x33", 6, -48, 3, False, "correct-horse"),
    (b"LabNet", b"\x24\x0a\xc4\x44\x55\x66", 11, -61, 4, False, "labpass123"),
    (b"CoffeeShop", b"\x5c\xcf\x7f\x01\x02\x03", 1, -74, 0, False, ""),
    (b"Neighbour-5G", b"\x60\x01\x94\x0a\x0b\x0c", 36, -86, 7, False, "not-yours-42"),
    (b"Backstage", b"\x60\x01\x94\x0d\x0e\x0f", 3, -70, 3, True, "hidden-pass"),
)


def _hex(s):
    return "".join("%02x" % c for c in s.encode())


def _unhex(h):
    return bytes(int(h[i : i + 2], 16) for i in range(0, len(h), 2)).decode()


def _load():
    try:
        with open(_FILE) as f:
            a, s, k = (f.read() + "\n\n\n").split("\n")[:3]
        return a == "1", _unhex(s), _unhex(k)
    except (OSError, ValueError):
        return False, "", ""


def _save():
    with open(_FILE, "w") as f:
        f.write("%d\n%s\n%s" % (_sta._on, _hex(_sta._ssid), _hex(_sta._key)))


class WLAN:
    def __new__(cls, interface=STA_IF):
        return _sta if interface == STA_IF else _ap

    def __init__(self, interface=STA_IF):
        pass

    def _setup(self, interface):
        self._if = interface
        self._on = False
        self._ssid = ""
        self._key = ""
        self._status = STAT_IDLE
        self._t0 = 0
        self._rssi = 0
        self._ip = _ZERO
        self._essid = "MicroPython-1a2b3c"
        self._authmode = AUTH_OPEN
        self._pw = ""
        self._channel = 1
        self._hidden = False
        return self

    def active(self, on=None):
        if on is None:
            return self._on
        self._on = bool(on)
        if self._if == AP_IF:
            self._ip = ("192.168.4.1", "255.255.255.0", "192.168.4.1", "208.67.222.222")
            if not on:
                self._ip = _ZERO
            return
        if not on:
            self._status = STAT_IDLE
            self._ip = _ZERO
        _save()

    def _sta_only(self):
        if self._if != STA_IF:
            raise OSError("STA required")
        if not self._on:
            raise OSError("STA must be active")

    def scan(self):
        self._sta_only()
        _time.sleep_ms(300)
        return [(b"" if a[5] else a[0], a[1], a[2], a[3], a[4], a[5]) for a in _APS]

    def connect(self, ssid=None, key=None, bssid=None):
        self._sta_only()
        if ssid is not None:
            self._ssid = ssid
            self._key = key or ""
        self._status = STAT_CONNECTING
        self._ip = _ZERO
        self._t0 = _time.ticks_ms()
        _save()

    def _update(self):
        if self._status != STAT_CONNECTING or _time.ticks_diff(_time.ticks_ms(), self._t0) < 700:
            return
        self._status = STAT_NO_AP_FOUND
        for a in _APS:
            if a[0].decode() == self._ssid:
                ok = a[4] == AUTH_OPEN or a[6] == self._key
                self._status = STAT_GOT_IP if ok else STAT_WRONG_PASSWORD
                self._channel = a[2]
                self._rssi = a[3]
        if self._status == STAT_GOT_IP:
            self._ip = ("192.168.1.42", "255.255.255.0", "192.168.1.1", "192.168.1.1")

    def disconnect(self):
        if self._if == STA_IF:
            self._status = STAT_IDLE
            self._ip = _ZERO

    def status(self, param=None):
        self._update()
        if param is None:
            return self._status if self._if == STA_IF else STAT_IDLE
        if param == "rssi":
            if self._if != STA_IF or self._status != STAT_GOT_IP:
                raise OSError("not connected")
            return self._rssi
        raise ValueError("unknown status param")

    def isconnected(self):
        if self._if == AP_IF:
            return False
        self._update()
        return self._status == STAT_GOT_IP

    def ifconfig(self, config=None):
        if config is None:
            self._update()
            return self._ip
        self._ip = tuple(config)

    def ipconfig(self, name):
        if name == "addr4":
            self._update()
            return (self._ip[0], self._ip[1])
        raise ValueError("unknown config param")

    def config(self, *args, **kw):
        sta = self._if == STA_IF
        if args:
            p = args[0]
            if p == "mac":
                return bytes([0x5C, 0xCF, 0x7F, 0xAB, 0xCD, 0xEF + self._if - 1])
            if p in ("essid", "ssid"):
                return self._ssid if sta else self._essid
            if p == "channel":
                return self._channel
            if p == "hidden":
                return self._hidden
            if p == "authmode":
                return self._authmode
            if p == "hostname":
                return "mpy-virtual"
            if p in ("password", "key"):
                raise ValueError("can't read password")
            raise ValueError("unknown config param")
        for k in kw:
            v = kw[k]
            if k in ("essid", "ssid"):
                if sta:
                    self._ssid = v
                else:
                    self._essid = v
            elif k in ("password", "key"):
                if sta:
                    self._key = v
                else:
                    self._pw = v
            elif k == "authmode" and not sta:
                self._authmode = v
            elif k in ("channel", "hidden") and not sta:
                setattr(self, "_" + k, v)
            elif k != "hostname":
                raise ValueError("unknown config param")
        if not sta and self._authmode != AUTH_OPEN and len(self._pw) < 8:
            raise ValueError("password too short")
        if sta:
            _save()


_sta = object.__new__(WLAN)._setup(STA_IF)
_ap = object.__new__(WLAN)._setup(AP_IF)
_on, _s, _k = _load()
if _on:
    _sta._on = True
    if _s:  # reconnecting started at boot: by the time a cell runs, it is done
        _sta.connect(_s, _k)
        _sta._t0 = _time.ticks_add(_sta._t0, -1000)
del _on, _s, _k


def hostname(name=None):
    return "mpy-virtual"


def ipconfig(name):
    if name == "dns":
        return _sta._ip[3]
    raise ValueError("unknown config param")
