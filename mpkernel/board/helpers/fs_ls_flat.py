# Prints (name, False, size) for each file of a flat filesystem (os.listdir and os.size).
import os

n = s = None
for n in os.listdir():
    s = os.size(n)
    print((n, False, s))
del n, s
