# Prints repr((raw stdin, base64, sha256, deflate)) as 0/1 flags; a missing module is a 0.
import sys


def _mpk_has(m, a):
    try:
        return int(hasattr(__import__(m), a))
    except ImportError:
        return 0


print(
    repr(
        (
            _mpk_has("micropython", "kbd_intr") and int(hasattr(sys.stdin, "buffer")),
            _mpk_has("binascii", "a2b_base64"),
            _mpk_has("hashlib", "sha256"),
            _mpk_has("deflate", "DeflateIO") and _mpk_has("io", "IOBase"),
        )
    )
)
del _mpk_has
