# Turns the board's access point on or off; on: named essid (if given), WPA2 with key, or
# open when key is None. Prints "ok" or the error's name (never the key).
def _mpk_wa(on, essid, key):
    import network

    if network is None:
        raise ImportError
    w = network.WLAN(network.AP_IF)
    try:
        w.active(on)
        if on:
            c = {"authmode": 0} if key is None else {"password": key, "authmode": 3}
            if essid:
                c["essid"] = essid
            w.config(**c)
        print("ok")
    except Exception as e:
        print(type(e).__name__)
