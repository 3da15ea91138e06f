# Runs on the virtual board (the MicroPython unix port) at every start, like a board's
# firmware does: boot.py always, main.py only after a power-on or hard reset (sim/_mpk.py).
import _mpk

_mpk.start(globals())
del _mpk
