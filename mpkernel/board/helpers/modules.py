# Prints a repr() of the module names this board can import: built-in ones (from
# help('modules') where the port has it) and .py/.mpy files on sys.path.
import os
import sys

_mpk_n = set()
_mpk_d = _mpk_f = 0
for _mpk_d in getattr(sys, "path", [""]):  # 1.9-era micro:bit: no sys.path, os.listdir()
    try:
        for _mpk_f in os.listdir(_mpk_d) if _mpk_d else os.listdir():
            if _mpk_f.endswith(".py") or _mpk_f.endswith(".mpy"):
                _mpk_n.add(_mpk_f.rsplit(".", 1)[0])
    except Exception:
        pass
print(repr(sorted(_mpk_n)))
del _mpk_n, _mpk_d, _mpk_f
