# Renames the verified temporary file _mpk_T to _mpk_P (set by the host), replacing any file there.
import os as _mpk_os

try:
    _mpk_os.remove(_mpk_P)
except OSError:
    pass
_mpk_os.rename(_mpk_T, _mpk_P)
del _mpk_T, _mpk_P, _mpk_os
