# _mpk_commit(t, p, d): puts the temporary file t in place of p only if the hex SHA-256 of t
# is d (bytes), else removes t; returns t's hex SHA-256. Sent just ahead of a WebREPL put's
# header; one short command right behind the data calls it and deletes it: the put is
# verified and atomic with no round trip of its own, and nothing stays on the board.
# os.rename replaces a file on FAT, littlefs and POSIX filesystems.
import hashlib, os, binascii


def _mpk_commit(t, p, d):
    h = hashlib.sha256()
    f = open(t, "rb")
    b = 1
    while b:
        b = f.read(256)
        h.update(b)
    f.close()
    h = binascii.hexlify(h.digest())
    if h == d:
        os.rename(t, p)
    else:
        os.remove(t)
    return h
