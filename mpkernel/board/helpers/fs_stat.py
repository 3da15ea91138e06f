# Prints repr((is_dir, size)) of path P (set by the host), or None if nothing is there.
import os

try:
    s = os.stat(P)
    print(repr((s[0] & 0x4000 != 0, s[6])))
    del s
except OSError:
    print("None")
del P
