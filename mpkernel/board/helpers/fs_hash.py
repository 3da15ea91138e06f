# Prints the SHA-256 of file p in hex (ImportError where the board has no hashlib).
def _mpk_hash(p):
    from hashlib import sha256

    h = sha256()
    b = bytearray(256)
    with open(p, "rb") as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            h.update(b if n == 256 else b[:n])
    print("".join("%02x" % x for x in h.digest()))
