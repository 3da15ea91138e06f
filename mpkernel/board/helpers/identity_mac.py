# Prints repr() of the WiFi MAC address ("aa:bb:..."), or None where there is no network.
try:
    import network as _mpk_i

    _mpk_i = _mpk_i.WLAN(_mpk_i.STA_IF)
    _mpk_i = _mpk_i.config("mac")
    _mpk_i = ("%02x:" * len(_mpk_i) % tuple(_mpk_i))[:-1]
except Exception:
    _mpk_i = None
print(repr(_mpk_i))
del _mpk_i
