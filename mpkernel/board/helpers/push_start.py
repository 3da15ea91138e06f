# Starts building a pushed value: a stack of lists _mpk_S, and _mpk_c(f), which closes the
# innermost list as a list (0), tuple (1), str (2), bytes (3), bytearray (4), dict (5) or
# set (6) and appends it to the one below. See transfer.push_chunks.
_mpk_S = [[]]


def _mpk_c(f):
    v = _mpk_S.pop()
    if f == 1:
        v = tuple(v)
    elif f == 2:
        v = "".join(v)
    elif f == 3:
        v = b"".join(v)
    elif f == 4:
        v = bytearray(b"".join(v))
    elif f == 5:
        d = {}
        i = 0
        while i < len(v):
            d[v[i]] = v[i + 1]
            v[i] = v[i + 1] = None
            i += 2
        v = d
    elif f == 6:
        v = set(v)
    _mpk_S[-1].append(v)
