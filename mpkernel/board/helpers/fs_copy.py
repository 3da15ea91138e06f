# Copies the verified temporary file T to P (set by the host) and removes T, for boards
# whose os has no rename (flat filesystems). 32-byte pieces: fits a 2 KB heap.
import os

try:
    os.remove(P)
except OSError:
    pass
_f = open(T, "rb")
_g = open(P, "wb")
_b = _f.read(32)
while _b:
    _g.write(_b)
    _b = _f.read(32)
_f.close()
_g.close()
os.remove(T)
del _f, _g, _b, T, P
