# Verified delivery of a long cell without raw-paste (rawrepl._send_legacy). Pieces go
# into the file _mpk_f (no heap held while they arrive), or into the list _mpk_l where no
# file can be written (_mpk_f is None). Each piece _mpk_w(bytes, offset, length, checksum)
# is kept only when it is the next one and arrived intact; the answer is the number of
# bytes kept so far. Small on purpose: all of this is heap the cell cannot use.
_mpk_t = 0
_mpk_l = []


def _mpk_w(p, o, n, c):
    global _mpk_t
    if _mpk_t == o and len(p) == n and sum(p) % 65521 == c:
        if _mpk_f:
            _mpk_f.write(p)
        else:
            _mpk_l.append(p)
        _mpk_t += n
    print(_mpk_t)
