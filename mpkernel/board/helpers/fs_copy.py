# Copies the verified temporary file _mpk_T to _mpk_P (set by the host) and removes it,
# for boards whose os has no rename (flat filesystems). 32-byte pieces: fits a 2 KB heap.
import os

try:
    os.remove(_mpk_P)
except OSError:
    pass
_mpk_P = open(_mpk_P, "wb")  # few names: each is heap on a small board
_mpk_f = open(_mpk_T, "rb")
_mpk_b = _mpk_f.read(32)
while _mpk_b:
    _mpk_P.write(_mpk_b)
    _mpk_b = _mpk_f.read(32)
_mpk_f.close()
_mpk_P.close()
os.remove(_mpk_T)
del _mpk_f, _mpk_b, _mpk_T, _mpk_P
