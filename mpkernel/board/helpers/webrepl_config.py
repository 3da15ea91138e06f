# Writes text t (the host's "PASS = '...'" line) to webrepl_cfg.py; prints nothing.
def _mpk_wcfg(t):
    f = open("webrepl_cfg.py", "w")
    try:
        f.write(t)
    finally:
        f.close()
