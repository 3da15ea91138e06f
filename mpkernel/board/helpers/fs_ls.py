# Prints (name, is_dir, size) for each entry of folder _mpk_P (set by the host; "" is the
# current folder, listed without building absolute paths). Shallow lines, as in fs_stat.
import os as _mpk_os

_mpk_n = _mpk_s = None
if _mpk_P and _mpk_P[-1:] != "/":
    _mpk_P += "/"
for _mpk_n in _mpk_os.listdir(_mpk_P) if _mpk_P else _mpk_os.listdir():
    _mpk_s = _mpk_os.stat(_mpk_P + _mpk_n)
    _mpk_s = (_mpk_n, _mpk_s[0] & 0x4000 != 0, _mpk_s[6])
    print(_mpk_s)
del _mpk_n, _mpk_s, _mpk_P, _mpk_os
