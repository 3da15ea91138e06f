# Removes what push_start defined (if it is there) and collects the garbage.
import gc

try:
    del _mpk_S, _mpk_c
except NameError:
    pass
gc.collect()
