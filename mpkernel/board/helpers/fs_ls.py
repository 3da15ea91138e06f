# Prints (name, is_dir, size) for each entry of folder P (set by the host; "" is the
# current folder, listed without building absolute paths). Shallow lines, as in fs_stat.
import os

n = s = None
if P and P[-1:] != "/":
    P += "/"
for n in os.listdir(P) if P else os.listdir():
    s = os.stat(P + n)
    s = (n, s[0] & 0x4000 != 0, s[6])
    print(s)
del n, s, P
