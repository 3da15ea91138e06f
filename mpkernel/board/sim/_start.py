# Runs on the virtual board (the MicroPython unix port) at every start, like a board's
# firmware does: boot.py always, main.py only after a power-on or hard reset.
# argv: root=FOLDER ctl=PORT:TOKEN [fs=BYTES] [heap=BYTES] [main] [hide=a,b.c]
import sys as _mpk_sys

_mpk_argv = _mpk_sys.argv[1:]
_mpk_sys.argv[:] = []  # as on a board
import _mpk  # stays in sys.modules: webrepl and machine use it to reach the host side

_mpk_root = "."
_mpk_heap = 0
for _mpk_arg in _mpk_argv:
    _mpk_k, _, _mpk_v = _mpk_arg.partition("=")
    if _mpk_k == "ctl":
        _mpk.CTL = (int(_mpk_v.split(":")[0]), _mpk_v.split(":")[1])
    elif _mpk_k == "fs":
        _mpk.FS_SIZE = int(_mpk_v)
    elif _mpk_k == "root":
        _mpk_root = _mpk_v
    elif _mpk_k == "heap":
        _mpk_heap = int(_mpk_v)
_mpk.mount(_mpk_root, _mpk_sys.path[0], ("machine.py", "network.py", "webrepl.py"))
_mpk_sys.path[:] = ["", ".frozen", "/lib"]


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


for _mpk_arg in _mpk_argv:
    if _mpk_arg.startswith("hide="):
        _mpk_hide(_mpk_arg[5:])
if _mpk_heap:
    _mpk.shrink_heap(_mpk_heap)
_mpk_run("boot.py")
if "main" in _mpk_argv:
    _mpk_run("main.py")
globals().pop("__file__", None)
del _mpk_hide, _mpk_arg, _mpk_argv, _mpk_k, _mpk_v, _mpk_root, _mpk_heap, _mpk_run, _mpk_sys, _mpk
