# Prints a repr() dict of the board's identity; every probe tolerates its absence.
# Lean, shallow top-level code (a function body compiles to a second code object): it runs
# at every connection, on small heaps too. The MAC address is identity_mac's.
import gc
import sys

_i = sys.implementation
_d = {}
_d["implementation"] = _i.name
_d["version"] = "%d.%d.%d" % _i.version[:3]
_d["sys_version"] = getattr(sys, "version", "")
_d["platform"] = getattr(sys, "platform", "")
_d["machine"] = getattr(_i, "_machine", "")
if getattr(sys, "modules", {}).get("_mpk"):  # 1.9-era micro:bit: no sys.modules
    _d["simulated"] = True  # mpkernel's virtual board, even when reached over WebREPL
try:
    import os

    _i = os.uname()
    _d["release"] = _i.release
    _d["build"] = _i.version
    _d["machine"] = _d["machine"] or _i.machine
except Exception:
    pass
try:
    import machine

    _i = machine.unique_id()
    _d["unique_id"] = "%02x" * len(_i) % tuple(_i)
except Exception:
    pass
try:
    import esp

    _d["flash_id"] = esp.flash_id()
    _d["flash_size"] = esp.flash_size()
except Exception:
    pass
gc.collect()
_d["mem_free"] = gc.mem_free()
print(_d)
del _d, _i
