# Prints a repr() of (implementation, version, machine): tolerant of ports without
# sys.implementation._machine or os.uname().
import sys

try:
    import os

    _m = os.uname().machine
    del os
except Exception:
    _m = sys.platform
print(repr((sys.implementation.name, sys.version, getattr(sys.implementation, "_machine", _m))))
del _m
