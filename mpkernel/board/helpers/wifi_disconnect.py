# Disconnects the station (the network saved for boot stays); forget=True also clears it,
# or turns the station off where it cannot be cleared, and prints "cleared" or "off".
def _mpk_wd(forget):
    import network

    if network is None:
        raise ImportError
    w = network.WLAN(network.STA_IF)
    if not forget:
        w.disconnect()
        return
    try:
        w.disconnect()
    except Exception:
        pass
    try:
        w.config(ssid="", key="")
        print("cleared")
    except Exception:
        print("off")
    w.active(False)
