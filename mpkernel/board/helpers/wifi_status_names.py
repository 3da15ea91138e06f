# Prints a repr() dict of the network module's STAT_* constants (empty where it has none).
def _mpk_wk():
    import network

    if network is None:
        raise ImportError
    print(repr(dict((k, getattr(network, k)) for k in dir(network) if k[:5] == "STAT_")))
