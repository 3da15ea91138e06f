# %mount: a folder on the host computer, mounted at M, read and written over the link.
# A call prints \x18, a command letter, its arguments joined by \x1f, and \x17; the host
# (mpkernel/board/mount.py) answers a status letter ("O" ok, "E" an OSError whose errno
# follows), 5 hex digits of length and that many bytes. File bytes read travel as they are
# where stdin is binary-clean, but for 0x00-0x05 and 0x1b, sent as 0x1b and the byte
# + 0x40 ("[" for 0x1b): no byte the REPL acts on (Ctrl-C stays the stop button); else as
# base64. Written bytes go as base64. Paths go as the VFS gives them; the host resolves
# them and refuses any that leave its folder.
# Modules under names of this helper's own: a user's `os`, `sys` or `io` stays theirs.
import io as _mpk_mio
import os as _mpk_mos
import sys as _mpk_msys

from binascii import a2b_base64 as _mpk_ma
from binascii import b2a_base64 as _mpk_mb


def _mpk_mq(c, *a):
    if c != "W" and min("".join(a) or " ") < " ":
        raise OSError(22)  # EINVAL: a control character (\x04 would end the run) in a path
    _mpk_msys.stdout.write("\x18" + c + "\x1f".join(a) + "\x17")
    i = getattr(_mpk_msys.stdin, "buffer", _mpk_msys.stdin)
    h = i.read(6)
    while h[0] in (1, "\x01"):  # the raw REPL's probe queued behind the code: not ours
        h = h[1:] + i.read(1)
    n = int(h[1:], 16)
    d = i.read(n) if n else b""
    if h[0] in (69, "E"):
        raise OSError(int(_mpk_ms(d)))
    return d


def _mpk_ms(d):
    return d if isinstance(d, str) else d.decode()


def _mpk_md(d):
    if not _mpk_FS.r:
        return _mpk_ma(d)
    if b"\x1b" in d:
        p = d.split(b"\x1b")
        d = p[0]
        for q in p[1:]:
            d += bytes((27 if q[0] == 91 else q[0] - 64,)) + q[1:]
    return d


class _mpk_File(_mpk_mio.IOBase):
    def __init__(s, i, t, d):
        s.i, s.t, s.d, s.p = i, t, d, 0

    def _more(s):
        if s.p >= len(s.d):
            s.d, s.p = _mpk_md(_mpk_mq("R", s.i)), 0
        return len(s.d) - s.p

    def readinto(s, b):
        # Fills b whole unless the file ends: import's reader takes a short read as the end.
        n = 0
        while n < len(b) and s._more():
            k = min(len(b) - n, len(s.d) - s.p)
            b[n : n + k] = s.d[s.p : s.p + k]
            s.p += k
            n += k
        return n

    def _get(s, n, line):
        o = b""
        while (n < 0 or len(o) < n) and s._more():
            k = len(s.d) if n < 0 else s.p + n - len(o)
            if line:
                j = s.d.find(b"\n", s.p, k)
                k = k if j < 0 else j + 1
            o += s.d[s.p : k]
            s.p = min(k, len(s.d))
            if line and o[-1:] == b"\n":
                break
        return o.decode() if s.t else o

    def read(s, n=-1):
        return s._get(n, 0)

    def readline(s, n=-1):
        return s._get(n, 1)

    def __iter__(s):
        return s

    def __next__(s):
        x = s.readline()
        if not x:
            raise StopIteration
        return x

    def write(s, b):
        if isinstance(b, str):
            b = b.encode()
        for j in range(0, len(b), 768):
            _mpk_mq("W", s.i, _mpk_mb(b[j : j + 768])[:-1].decode())
        return len(b)

    def flush(s):
        pass

    def close(s):
        if s.i:
            i, s.i = s.i, ""
            _mpk_mq("K", i)

    def ioctl(s, op, a):
        if op == 4:
            s.close()
        return 0

    def __enter__(s):
        return s

    def __exit__(s, *a):
        s.close()


class _mpk_FS:
    c = "/"
    r = 0  # read answers come unencoded (binary-clean stdin)

    def mount(s, r, m):
        pass

    def umount(s):
        pass

    def _p(s, p):
        return p if p[:1] == "/" else s.c + "/" + p

    def chdir(s, p):
        s.c = _mpk_ms(_mpk_mq("C", s._p(p)))

    def getcwd(s):
        return s.c

    def stat(s, p):
        return tuple(int(x) for x in _mpk_ms(_mpk_mq("S", s._p(p))).split())

    def statvfs(s, p):
        return tuple(int(x) for x in _mpk_ms(_mpk_mq("V", s._p(p))).split())

    def ilistdir(s, p):
        d = _mpk_ms(_mpk_mq("L", s._p(p)))
        for e in d.split("\x1e") if d else ():
            e = e.split("\x1f")
            yield (e[0], int(e[1]), 0, int(e[2]))

    def open(s, p, m):
        d = _mpk_mq("O", s._p(p), m)
        j = d.find(b"," if isinstance(d, bytes) else ",")
        return _mpk_File(_mpk_ms(d[:j]), "b" not in m, _mpk_md(d[j + 1 :]))

    def remove(s, p):
        _mpk_mq("D", s._p(p))

    def mkdir(s, p):
        _mpk_mq("M", s._p(p))

    def rmdir(s, p):
        _mpk_mq("X", s._p(p))

    def rename(s, a, b):
        _mpk_mq("N", s._p(a), s._p(b))


def _mpk_mount(m, r):
    _mpk_FS.r = r
    if not hasattr(_mpk_mos, "mount"):
        print("no os.mount")
        return
    try:
        _mpk_mos.umount(m)
    except OSError:
        pass
    _mpk_mos.mount(_mpk_FS(), m)
    try:
        _mpk_mos.chdir(m)
    except OSError:
        _mpk_mos.umount(m)
        raise
    print("ok")
