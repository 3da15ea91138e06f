# Prints repr((name, is_dir, size)) for each entry of folder P (set by the host; "" is the
# current folder, listed without building absolute paths).
import os

n = s = None
for n in os.listdir(P) if P else os.listdir():
    s = os.stat(n if not P else P + n if P[-1:] == "/" else P + "/" + n)
    print(repr((n, s[0] & 0x4000 != 0, s[6])))
del n, s, P
