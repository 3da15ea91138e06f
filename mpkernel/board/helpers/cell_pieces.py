# Verified delivery of a long cell without raw-paste (rawrepl._send_legacy), defined once
# per connection (it stays, low in the heap, as input() does). A cell's pieces go into the
# file _mpk_f (no heap held while they arrive), or into the list _mpk_l where no file can
# be written (_mpk_f is None); _mpk_t counts the bytes kept. _mpk_w(bytes, offset, length,
# checksum) keeps a piece only when it is the next one and arrived intact, and prints
# _mpk_t. _mpk_r(length, checksum) gives the cell back as one bytes object for exec(): no
# more heap than the raw REPL's own buffer of the code sent as it is (the file goes first).
def _mpk_w(p, o, n, c):
    global _mpk_t
    if _mpk_t == o and len(p) == n and sum(p) % 65521 == c:
        if _mpk_f:
            _mpk_f.write(p)
        else:
            _mpk_l.append(p)
        _mpk_t += n
    print(_mpk_t)


def _mpk_r(n, c):
    global _mpk_l
    b, _mpk_l = _mpk_l, None
    if b:
        b = b"".join(b)
    else:
        import gc
        import os

        gc.collect()  # what compiling this call left: the cell's bytes go low
        try:
            f = open(".mpk_cell", "rb")
            b = f.read(n)
            f.close()
        finally:
            os.remove(".mpk_cell")
    return b if len(b) == n and sum(b) % 65521 == c else "raise OSError('damaged: run again')"
