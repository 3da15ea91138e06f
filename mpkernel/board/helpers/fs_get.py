# Sends file p to stdout: "R", then frames (e: 0 raw with 2-byte length headers,
# 1 base64 / 2 hex with 3-hex-digit headers), then a zero-length frame.
def _mpk_get(p, e):
    import sys

    f = open(p, "rb")
    o = sys.stdout.buffer.write if e == 0 else sys.stdout.write
    if e == 1:
        from binascii import b2a_base64

        def enc(b):
            return b2a_base64(b)[:-1].decode()

    elif e == 2:

        def enc(b):
            return "".join("%02x" % x for x in b)

    b = bytearray(96 if e else 255)
    try:
        o(b"R" if e == 0 else "R")
        while True:
            n = f.readinto(b)
            if not n:
                break
            d = b if n == len(b) else b[:n]
            if e == 0:
                o(bytes((n >> 8, n & 255)))
                o(d)
            else:
                s = enc(d)
                o("%03x" % len(s))
                o(s)
        o(b"\0\0" if e == 0 else "000")
    finally:
        f.close()
