"""The virtual board's `machine`: the unix port's own module plus SIMULATED pins and sensors.

Everything the unix port's built-in `machine` has (Signal, PinBase, idle, mem8/16/32,
soft_reset, time_pulse_us) is the real thing, unchanged. What an ESP8266 adds and the unix
port lacks is simulated, behaving as the ESP8266's does, so that lab notebooks run without
hardware:

- Pin: a PinBase, so the real Signal drives it; GPIO 0-5 and 12-16 as on the ESP8266;
  remembers the level written; an input reads what was last written (PULL_UP: 1);
  value(), pin() calls, on()/off(), irq() accepted (no edges happen).
- ADC: a light sensor on a slow day/night cycle with a little noise (0..1023; u16 scale too).
- unique_id() (of this board's folder), freq(), reset() (restarts the virtual board, running main.py), reset_cause().
"""

from umachine import *  # noqa: F403

import math as _math
import random as _random
import sys as _sys
import time as _time

import umachine as _um

SIMULATED = True
_levels = {}
_PINS = (0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16)  # the ESP8266's GPIOs


class _IRQ:
    def __init__(self, trigger):
        self._trigger = trigger

    def trigger(self):
        return self._trigger

    def __call__(self):
        pass


class Pin(_um.PinBase):
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        if id not in _PINS:
            raise ValueError("invalid pin")
        self._id = id
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if value is not None:
            _levels[self._id] = 1 if value else 0
        elif pull == Pin.PULL_UP and self._id not in _levels:
            _levels[self._id] = 1

    def value(self, v=None):
        if v is None:
            return _levels.get(self._id, 0)
        _levels[self._id] = 1 if v else 0

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3, hard=False):
        return _IRQ(trigger)

    def __repr__(self):
        return "Pin(%d) (simulated)" % self._id


class ADC:
    def __init__(self, id=0, *args, **kwargs):
        self.id = id

    def read(self):
        t = _time.ticks_ms() / 1000
        light = 512 + 380 * _math.sin(t / 5) + _random.randint(-12, 12)
        return max(0, min(1023, int(light)))

    def read_u16(self):
        return self.read() * 64


def unique_id():
    # "MPK" (a virtual board, never a chip's id) + 3 bytes of its folder's hash: each board
    # (each folder) answers with its own id, and the same folder with the same id.
    try:
        import hashlib

        return b"MPK" + hashlib.sha256(_sys.modules["_mpk"].ROOT.encode()).digest()[:3]
    except Exception:
        return b"MPK\x00VB"


def freq(hz=None):
    if hz is None:
        return 80000000


def reset():
    # A hard reset: the host process restarts the board with boot.py and main.py.
    try:
        _sys.modules["_mpk"].ask("reset")
    except Exception:
        pass
    _sys.exit()


def reset_cause():
    return 1
