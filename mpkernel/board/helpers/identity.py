# Prints a repr() dict of the board's identity; every probe tolerates its absence.
# Lean and shallow (see fs_stat): it runs at every connection, on the smallest heaps too.
def _mpk_id(mac):
    import gc
    import sys

    i = sys.implementation
    d = {}
    d["implementation"] = i.name
    d["version"] = "%d.%d.%d" % i.version[:3]
    d["sys_version"] = sys.version
    d["platform"] = sys.platform
    d["machine"] = getattr(i, "_machine", "")
    if sys.modules.get("_mpk"):
        d["simulated"] = True  # mpkernel's virtual board, even when reached over WebREPL
    try:
        import os

        i = os.uname()
        d["release"] = i.release
        d["build"] = i.version
        d["machine"] = d["machine"] or i.machine
    except Exception:
        pass
    try:
        import machine

        i = machine.unique_id()
        d["unique_id"] = "%02x" * len(i) % tuple(i)
    except Exception:
        pass
    try:
        import esp

        d["flash_id"] = esp.flash_id()
        d["flash_size"] = esp.flash_size()
    except Exception:
        pass
    if mac:
        try:
            import network

            i = network.WLAN(network.STA_IF)
            i = i.config("mac")
            d["mac"] = ("%02x:" * len(i) % tuple(i))[:-1]
        except Exception:
            pass
    gc.collect()
    d["mem_free"] = gc.mem_free()
    print(d)
