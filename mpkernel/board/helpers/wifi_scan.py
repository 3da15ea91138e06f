# Prints repr() of the station's scan, activating the station first if it is off.
def _mpk_ws():
    import network

    if network is None:
        raise ImportError
    w = network.WLAN(network.STA_IF)
    if not w.active():
        w.active(True)
    print(repr(w.scan()))
