# Prints repr() of the WiFi MAC address ("aa:bb:..."), or None where there is no network.
try:
    import network

    _i = network.WLAN(network.STA_IF)
    _i = _i.config("mac")
    _i = ("%02x:" * len(_i) % tuple(_i))[:-1]
except Exception:
    _i = None
print(repr(_i))
del _i
