# Starts connecting the station to network s with key k; prints "ok" or the error's name
# (never the key).
def _mpk_wc(s, k):
    import network

    if network is None:
        raise ImportError
    w = network.WLAN(network.STA_IF)
    try:
        w.active(True)
        try:
            w.disconnect()
        except Exception:
            pass
        w.connect(s, k)
        print("ok")
    except Exception as e:
        print(type(e).__name__)
