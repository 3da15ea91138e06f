"""The virtual board's `machine`: the unix port's own module plus SIMULATED pins and sensors.

Everything the unix port's built-in `machine` has is here unchanged (via `umachine`); what
a real board adds is simulated so that lab notebooks run without hardware:

- Pin: remembers the value written; an input pin reads what was last written (or 0).
- ADC: a light sensor on a slow day/night cycle with a little noise (0..1023; u16 scale too).
- unique_id(), freq(), reset() (a restart of the virtual board), soft_reset().
"""

from umachine import *  # noqa: F403

import math as _math
import random as _random
import sys as _sys
import time as _time

SIMULATED = True
_levels = {}


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if value is not None:
            _levels[self.id] = 1 if value else 0
        elif pull == Pin.PULL_UP and self.id not in _levels:
            _levels[self.id] = 1

    def value(self, v=None):
        if v is None:
            return _levels.get(self.id, 0)
        _levels[self.id] = 1 if v else 0

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def toggle(self):
        self.value(1 - self.value())

    def irq(self, handler=None, trigger=3):
        return None

    def __repr__(self):
        return "Pin(%s) (simulated)" % self.id


class Signal:
    def __init__(self, pin, invert=False):
        self.pin = pin
        self.invert = invert

    def value(self, v=None):
        if v is None:
            return self.pin.value() ^ self.invert
        self.pin.value((1 if v else 0) ^ self.invert)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


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
    return b"MPK\x00VB"


def freq(hz=None):
    return 80000000


def reset():
    _sys.exit()  # the virtual board restarts, as after a reset


def soft_reset():
    _sys.exit()


def reset_cause():
    return 1
