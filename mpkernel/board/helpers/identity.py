# Prints a repr() dict of the board's identity; every probe tolerates its absence.
# Lean, shallow top-level code (a function body compiles to a second code object): it runs
# at every connection, on small heaps too. The MAC address is identity_mac's.
import gc as _mpk_g
import sys as _mpk_y

_mpk_m = None  # modules go under private names: a user's `os` stays theirs
_mpk_i = _mpk_y.implementation
_mpk_d = {}
_mpk_d["implementation"] = _mpk_i.name
_mpk_d["version"] = "%d.%d.%d" % _mpk_i.version[:3]
_mpk_d["sys_version"] = getattr(_mpk_y, "version", "")
_mpk_d["platform"] = getattr(_mpk_y, "platform", "")
_mpk_d["machine"] = getattr(_mpk_i, "_machine", "")
if getattr(_mpk_y, "modules", {}).get("_mpk"):  # 1.9-era micro:bit: no sys.modules
    _mpk_d["simulated"] = True  # mpkernel's virtual board, even when reached over WebREPL
try:
    import os as _mpk_m

    _mpk_i = _mpk_m.uname()
    _mpk_d["release"] = _mpk_i.release
    _mpk_d["build"] = _mpk_i.version
    _mpk_d["machine"] = _mpk_d["machine"] or _mpk_i.machine
except Exception:
    pass
try:
    import machine as _mpk_m

    _mpk_i = _mpk_m.unique_id()
    _mpk_d["unique_id"] = "%02x" * len(_mpk_i) % tuple(_mpk_i)
except Exception:
    pass
try:
    import esp as _mpk_m

    _mpk_d["flash_id"] = _mpk_m.flash_id()
    _mpk_d["flash_size"] = _mpk_m.flash_size()
except Exception:
    pass
_mpk_g.collect()
_mpk_d["mem_free"] = _mpk_g.mem_free()
print(_mpk_d)
del _mpk_d, _mpk_i, _mpk_m, _mpk_g, _mpk_y
