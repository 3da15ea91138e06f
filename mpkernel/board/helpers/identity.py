# Prints a repr() dict of the board's identity; every probe tolerates its absence.
def _mpk_id(mac):
    import sys, gc

    d = {
        "implementation": sys.implementation.name,
        "version": ".".join(str(x) for x in sys.implementation.version[:3]),
        "sys_version": sys.version,
        "platform": sys.platform,
        "machine": getattr(sys.implementation, "_machine", ""),
    }
    if sys.modules.get("_mpk"):
        d["simulated"] = True  # mpkernel's virtual board, even when reached over WebREPL
    try:
        import os

        u = os.uname()
        d["release"] = u.release
        d["build"] = u.version
        d["machine"] = d["machine"] or u.machine
    except Exception:
        pass
    try:
        import machine

        d["unique_id"] = "".join("%02x" % b for b in machine.unique_id())
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

            d["mac"] = ":".join("%02x" % b for b in network.WLAN(network.STA_IF).config("mac"))
        except Exception:
            pass
    gc.collect()
    d["mem_free"] = gc.mem_free()
    print(repr(d))
