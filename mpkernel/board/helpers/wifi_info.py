# Prints a repr() dict of what interface i ("STA_IF" or "AP_IF") tells about itself; every
# probe tolerates its absence. (The virtual board's hide=network leaves None: no module.)
def _mpk_wi(i):
    import network

    if network is None:
        raise ImportError
    w = network.WLAN(getattr(network, i))
    d = {"active": w.active()}
    for k in ("isconnected", "status", "ifconfig"):
        try:
            d[k] = getattr(w, k)()
        except Exception:
            pass
    for k in ("essid", "authmode", "channel", "hidden", "hostname"):
        try:
            d[k] = w.config(k)
        except Exception:
            pass
    try:
        d["rssi"] = w.status("rssi")
    except Exception:
        pass
    if "ifconfig" not in d:
        try:
            d["addr4"] = w.ipconfig("addr4")
        except Exception:
            pass
        try:
            d["dns"] = network.ipconfig("dns")
        except Exception:
            pass
    print(repr(d))
