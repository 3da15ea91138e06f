# Renames the verified temporary file _mpk_T to _mpk_P (set by the host), replacing any file there.
import os

try:
    os.remove(_mpk_P)
except OSError:
    pass
os.rename(_mpk_T, _mpk_P)
del _mpk_T, _mpk_P
