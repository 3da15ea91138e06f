# _mpk_commit(t, p, d): puts the temporary file t in place of p only if t's SHA-256 in hex
# is d, else removes t; returns (t's SHA-256 in hex, made without binascii; p). Sent ahead
# of a WebREPL put's header; one short command right behind the data calls it and deletes
# it: the put is verified and atomic with no round trip of its own, and nothing stays on
# the board. os.rename replaces a file on FAT, littlefs and POSIX filesystems.
def _mpk_commit(t, p, d):
    import hashlib, os

    h = hashlib.sha256()
    f = open(t, "rb")
    b = 1
    while b:
        b = f.read(256)
        h.update(b)
    f.close()
    h = "".join("%02x" % b for b in h.digest())
    if h == d:
        os.rename(t, p)
    else:
        os.remove(t)
    return h, p
