# Copies the verified temporary file _mpk_T to _mpk_P (set by the host) and removes it,
# for boards whose os has no rename (flat filesystems). 32-byte pieces: fits a 2 KB heap.
# os through __import__: no name of the user's (`os`) rebound, and no global more. The
# whole helper is compiled at once: a line more breaks the 2 KB heap (one read call only).
try:
    __import__("os").remove(_mpk_P)
except OSError:
    pass
_mpk_P = open(_mpk_P, "wb")  # few names: each is heap on a small board
_mpk_f = open(_mpk_T, "rb")
_mpk_b = 1
while _mpk_b:
    _mpk_b = _mpk_f.read(32)
    _mpk_P.write(_mpk_b)
_mpk_f.close()
_mpk_P.close()
__import__("os").remove(_mpk_T)
del _mpk_f, _mpk_b, _mpk_T, _mpk_P
