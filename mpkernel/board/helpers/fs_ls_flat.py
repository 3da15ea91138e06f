# Prints (name, False, size) for each file of a flat filesystem (os.listdir and os.size).
import os as _mpk_os

_mpk_n = _mpk_s = None
for _mpk_n in _mpk_os.listdir():
    _mpk_s = _mpk_os.size(_mpk_n)
    print((_mpk_n, False, _mpk_s))
del _mpk_n, _mpk_s, _mpk_os
