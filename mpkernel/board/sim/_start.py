# Runs on the virtual board (the MicroPython unix port) at every start, like a board's
# firmware does: boot.py always, main.py only after a power-on or hard reset.
import sys as _mpk_sys

_mpk_sys.path.pop(0)  # this folder; the board's own files come first, as on a real board


def _mpk_run(name):
    try:
        open(name).close()
    except OSError:
        return
    try:
        exec(open(name).read(), globals())
    except Exception as e:  # a failing boot.py must not stop the board
        _mpk_sys.print_exception(e)  # noqa: F821  (deleted only after the last call)


_mpk_run("boot.py")
if "main" in _mpk_sys.argv:
    _mpk_run("main.py")
globals().pop("__file__", None)
del _mpk_run, _mpk_sys
