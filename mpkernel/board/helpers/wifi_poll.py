# Prints repr((station status code or None, isconnected)).
def _mpk_wp():
    import network

    if network is None:
        raise ImportError
    w = network.WLAN(network.STA_IF)
    try:
        s = w.status()
    except Exception:
        s = None
    print(repr((s, w.isconnected())))
