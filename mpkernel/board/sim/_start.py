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
        _mpk_sys.print_exception(e)


def _mpk_hide(names):
    # Act like a smaller port: "hide=binascii,os.ilistdir" removes those modules/functions.
    for name in names.split(","):
        mod, _, attr = name.partition(".")
        if not attr:
            _mpk_sys.modules[mod] = None  # "from mod import x" now raises ImportError
            continue
        real = __import__(mod)

        class Module:
            pass

        m = Module()
        for key in dir(real):
            if key != attr and key[0] != "_":
                setattr(m, key, getattr(real, key))
        _mpk_sys.modules[mod] = m


for _mpk_arg in _mpk_sys.argv:
    if _mpk_arg.startswith("hide="):
        _mpk_hide(_mpk_arg[5:])
del _mpk_hide, _mpk_arg

_mpk_run("boot.py")
if "main" in _mpk_sys.argv:
    _mpk_run("main.py")
globals().pop("__file__", None)
del _mpk_run, _mpk_sys
