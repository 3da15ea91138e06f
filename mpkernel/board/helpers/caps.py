# Prints one 0/1 flag per ability, in this order: sys.stdin, sys.stdin.buffer,
# micropython.kbd_intr, binascii, hashlib, deflate, io.IOBase, os.stat (folders), os.statvfs,
# os.rename. A missing module or attribute is a 0, never an error: 1.9-era firmware (the
# micro:bit's) has no sys.stdin. Small and shallow (see fs_stat): this runs on 2 KB heaps.
# Modules go under private names, as in every helper: a user's `sys` stays theirs.
import sys as _mpk_sys


def _mpk_has(m, a):
    try:
        m = __import__(m)
    except ImportError:
        return "0"
    return "1" if hasattr(m, a) else "0"


_mpk_f = _mpk_has("sys", "stdin")
_mpk_f += "1" if hasattr(getattr(_mpk_sys, "stdin", None), "buffer") else "0"
_mpk_a = "micropython.kbd_intr binascii.a2b_base64 hashlib.sha256 deflate.DeflateIO "
_mpk_a += "io.IOBase os.stat os.statvfs os.rename"
for _mpk_a in _mpk_a.split():
    _mpk_a = _mpk_a.split(".")
    _mpk_f += _mpk_has(_mpk_a[0], _mpk_a[1])
print(_mpk_f)
del _mpk_has, _mpk_f, _mpk_a, _mpk_sys
