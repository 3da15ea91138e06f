# Returns the SHA-256 digest of file p (ImportError where the board has no hashlib).
# Kept short: with its call it fits one plain raw-mode command (< 255 bytes), which can
# follow a WebREPL file transfer without a round trip of its own.
def _mpk_hash(p):
    import hashlib

    h = hashlib.sha256()
    f = open(p, "rb")
    b = 1
    while b:
        b = f.read(256)
        h.update(b)
    f.close()
    return h.digest()
