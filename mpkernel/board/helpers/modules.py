# Prints a repr() of the module names this board can import: built-in ones (from
# help('modules') where the port has it) and .py/.mpy files on sys.path.
import os
import sys

_n = set()
_d = _f = 0
for _d in getattr(sys, "path", [""]):  # 1.9-era micro:bit: no sys.path, os.listdir()
    try:
        for _f in os.listdir(_d) if _d else os.listdir():
            if _f.endswith(".py") or _f.endswith(".mpy"):
                _n.add(_f.rsplit(".", 1)[0])
    except Exception:
        pass
print(repr(sorted(_n)))
del _n, _d, _f
