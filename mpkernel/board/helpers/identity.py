# Prints a repr() dict of the board's identity; every probe tolerates its absence.
# Lean, shallow top-level code (a function body compiles to a second code object): it runs
# at every connection, on small heaps too. The MAC address is identity_mac's.
import gc
import sys

_mpk_i = sys.implementation
_mpk_d = {}
_mpk_d["implementation"] = _mpk_i.name
_mpk_d["version"] = "%d.%d.%d" % _mpk_i.version[:3]
_mpk_d["sys_version"] = getattr(sys, "version", "")
_mpk_d["platform"] = getattr(sys, "platform", "")
_mpk_d["machine"] = getattr(_mpk_i, "_machine", "")
if getattr(sys, "modules", {}).get("_mpk"):  # 1.9-era micro:bit: no sys.modules
    _mpk_d["simulated"] = True  # mpkernel's virtual board, even when reached over WebREPL
try:
    import os

    _mpk_i = os.uname()
    _mpk_d["release"] = _mpk_i.release
    _mpk_d["build"] = _mpk_i.version
    _mpk_d["machine"] = _mpk_d["machine"] or _mpk_i.machine
except Exception:
    pass
try:
    import machine

    _mpk_i = machine.unique_id()
    _mpk_d["unique_id"] = "%02x" * len(_mpk_i) % tuple(_mpk_i)
except Exception:
    pass
try:
    import esp

    _mpk_d["flash_id"] = esp.flash_id()
    _mpk_d["flash_size"] = esp.flash_size()
except Exception:
    pass
gc.collect()
_mpk_d["mem_free"] = gc.mem_free()
print(_mpk_d)
del _mpk_d, _mpk_i
