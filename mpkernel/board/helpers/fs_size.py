# Prints the size of file P (set by the host) on a flat filesystem (os.size, no os.stat),
# or None if there is no such file.
import os

try:
    print(os.size(P))
except OSError:
    print("None")
del P
