# Prints (name, False, size) for each file of a flat filesystem (os.listdir and os.size).
import os

_mpk_n = _mpk_s = None
for _mpk_n in os.listdir():
    _mpk_s = os.size(_mpk_n)
    print((_mpk_n, False, _mpk_s))
del _mpk_n, _mpk_s
