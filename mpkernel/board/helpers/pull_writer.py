# Defines _mpk_w(x): prints value x one piece per line, so the board never holds its whole
# repr. Tags: '=' a value's repr; 'x' a slice of a list/tuple of numbers; '[' '(' 'S' '{'
# open a list/tuple/set/dict; 's' 'b' 'B' open a str/bytes/bytearray sent in 256-long
# slices; ']' closes; '?' an unsupported type (its repr follows). See transfer.parse_pulled.
_mpk_n = (int, float, bool, type(None))


def _mpk_w(x):
    t = type(x)
    if t is list or t is tuple or t is set:
        print("[" if t is list else ("(" if t is tuple else "S"))
        if t is set:
            for e in x:
                _mpk_w(e)
        else:
            i = 0
            n = len(x)
            while i < n:
                s = x[i : i + 64]
                f = 1
                for e in s:
                    if type(e) not in _mpk_n:
                        f = 0
                        break
                if f:
                    print("x" + repr(s))
                else:
                    for e in s:
                        _mpk_w(e)
                i += 64
        print("]")
    elif t is dict:
        print("{")
        for k in x:
            _mpk_w(k)
            _mpk_w(x[k])
        print("]")
    elif t is str or t is bytes or t is bytearray:
        n = len(x)
        if n <= 256 and t is not bytearray:
            print("=" + repr(x))
        else:
            print("s" if t is str else ("b" if t is bytes else "B"))
            for i in range(0, n, 256):
                s = x[i : i + 256]
                print("=" + repr(bytes(s) if t is bytearray else s))
            print("]")
    elif t in _mpk_n:
        print("=" + repr(x))
    else:
        print("?" + repr(t))
