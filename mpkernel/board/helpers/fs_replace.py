# Renames the verified temporary file T to P (set by the host), replacing any file there.
import os

try:
    os.remove(P)
except OSError:
    pass
os.rename(T, P)
del T, P
