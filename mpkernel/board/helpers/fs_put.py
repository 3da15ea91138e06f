# Receives a file on stdin in frames and writes it to t (a temporary name).
# e: 0 raw bytes (2-byte length headers, Ctrl-C off), 1 base64, 2 hex (3-hex-digit headers).
# z: deflate window bits when the payload is a raw deflate stream, else 0.
# Sends "R" when ready, then "#" per frame read ("!" once a write failed): the host keeps
# at most two frames in flight, which fits the smallest stdin buffers (256 bytes).
def _mpk_put(t, e, z):
    import sys

    i = sys.stdin.buffer if e == 0 else sys.stdin
    o = sys.stdout.write
    if e == 0:
        import micropython

        micropython.kbd_intr(-1)
    if e == 1:
        from binascii import a2b_base64 as dec
    elif e == 2:

        def dec(s):
            return bytes(int(s[j : j + 2], 16) for j in range(0, len(s), 2))

    else:

        def dec(s):
            return s

    def frame():
        h = i.read(2 if e == 0 else 3)
        n = h[0] << 8 | h[1] if e == 0 else int(h, 16)
        if n in (0, 0xFFFF, 0xFFF):
            end[0] = n
            return n
        d = dec(i.read(n))
        o("!" if err else "#")
        return d

    err = None
    end = [0]  # the closing frame: 0 done, 0xFFFF / 0xFFF aborted by the host
    f = open(t, "wb")
    try:
        o("R")
        if z:
            import io

            import deflate

            class S(io.IOBase):
                def __init__(self):
                    self.b = b""

                def readinto(self, buf):
                    while not self.b:
                        d = frame()
                        if isinstance(d, int):
                            return 0
                        self.b = d
                    n = min(len(buf), len(self.b))
                    buf[:n] = self.b[:n]
                    self.b = self.b[n:]
                    return n

            s = S()
            d = deflate.DeflateIO(s, deflate.RAW, z)
            while True:
                c = d.read(256)
                if not c:
                    break
                if not err:
                    try:
                        f.write(c)
                    except Exception as x:
                        err = x
            while not isinstance(frame(), int):
                pass
        else:
            while True:
                d = frame()
                if isinstance(d, int):
                    break
                if not err:
                    try:
                        f.write(d)
                    except Exception as x:
                        err = x
    finally:
        f.close()
        if e == 0:
            micropython.kbd_intr(3)
    if err or end[0]:
        import os

        os.remove(t)
        raise err or KeyboardInterrupt()
