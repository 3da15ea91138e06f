# Removes what push_start defined (if it is there) and collects the garbage.
import gc as _mpk_gc

try:
    del _mpk_S, _mpk_c
except NameError:
    pass
_mpk_gc.collect()
del _mpk_gc
