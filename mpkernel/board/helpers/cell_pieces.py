# Verified delivery of a long cell without raw-paste (rawrepl._send_legacy), defined once
# per connection (it stays, low in the heap, as input() does). A cell's pieces go into the
# file _mpk_cf (no heap held while they arrive), or into the list _mpk_cl where no file can
# be written (_mpk_cf is None); _mpk_ct counts the bytes kept. _mpk_cw(bytes, offset, length,
# checksum) keeps a piece only when it is the next one and arrived intact, and prints
# _mpk_ct. _mpk_cr(length, checksum) gives the cell back as one bytes object for exec(): no
# more heap than the raw REPL's own buffer of the code sent as it is (the file goes first).
def _mpk_cw(p, o, n, c):
    global _mpk_ct
    if _mpk_ct == o and len(p) == n and sum(p) % 65521 == c:
        if _mpk_cf:
            _mpk_cf.write(p)
        else:
            _mpk_cl.append(p)
        _mpk_ct += n
    print(_mpk_ct)


def _mpk_cr(n, c):
    global _mpk_cl
    b, _mpk_cl = _mpk_cl, None
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
