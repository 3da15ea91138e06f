# Prints repr([(interface, IP address)]) of the active interfaces, or None without network.
def _mpk_wr():
    try:
        import network

        if network is None:
            raise ImportError
    except ImportError:
        print("None")
        return
    r = []
    for i, n in ((network.STA_IF, "station"), (network.AP_IF, "access point")):
        try:
            w = network.WLAN(i)
            if w.active():
                r.append((n, w.ifconfig()[0]))
        except Exception:
            pass
    print(repr(r))
