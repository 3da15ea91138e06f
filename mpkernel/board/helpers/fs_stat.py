# Prints (is_dir, size) of path _mpk_P (set by the host), or None if nothing is there.
# A line nests at most a call and a tuple: deeper code makes MicroPython's parser grow its
# stack (1 KB -> 1.25 KB on 64-bit ports, both held at once), which a small, fragmented
# heap cannot give.
import os as _mpk_os

try:
    _mpk_s = _mpk_os.stat(_mpk_P)
    _mpk_s = (_mpk_s[0] & 0x4000 != 0, _mpk_s[6])
    print(_mpk_s)
    del _mpk_s
except OSError:
    print("None")
del _mpk_P, _mpk_os
