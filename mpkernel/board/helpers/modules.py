# Prints a repr() of the module names this board can import: built-in ones (from
# help('modules') where the port has it) and .py/.mpy files on sys.path.
import os as _mpk_os
import sys as _mpk_sys

_mpk_n = set()
_mpk_d = _mpk_f = 0
for _mpk_d in getattr(_mpk_sys, "path", [""]):  # 1.9-era micro:bit: no sys.path, os.listdir()
    try:
        for _mpk_f in _mpk_os.listdir(_mpk_d) if _mpk_d else _mpk_os.listdir():
            if _mpk_f.endswith(".py") or _mpk_f.endswith(".mpy"):
                _mpk_n.add(_mpk_f.rsplit(".", 1)[0])
    except Exception:
        pass
print(repr(sorted(_mpk_n)))
del _mpk_n, _mpk_d, _mpk_f, _mpk_os, _mpk_sys
