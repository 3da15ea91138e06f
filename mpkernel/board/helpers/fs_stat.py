# Prints (is_dir, size) of path P (set by the host), or None if nothing is there.
# A line nests at most a call and a tuple: deeper code makes MicroPython's parser grow its
# stack (1 KB -> 1.25 KB on 64-bit ports, both held at once), which a small, fragmented
# heap cannot give.
import os

try:
    s = os.stat(P)
    s = (s[0] & 0x4000 != 0, s[6])
    print(s)
    del s
except OSError:
    print("None")
del P
