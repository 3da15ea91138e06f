# Raises ImportError where the board has no network module.
def _mpk_wn():
    import network

    if network is None:
        raise ImportError
