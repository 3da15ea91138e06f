# Prints the size of file _mpk_P (set by the host) on a flat filesystem (os.size, no os.stat),
# or None if there is no such file.
import os as _mpk_os

try:
    print(_mpk_os.size(_mpk_P))
except OSError:
    print("None")
del _mpk_P, _mpk_os
