# Prints the Adler-32 of file p as its two halves "a b", for boards without hashlib.
# 32-byte reads keep b below 2**22: small ints even on 32-bit boards.
def _mpk_sum(p):
    a = 1
    b = 0
    f = open(p, "rb")
    d = f.read(32)
    while d:
        for x in d:
            a += x
            b += a
        a %= 65521
        b %= 65521
        d = f.read(32)
    f.close()
    print(a, b)
