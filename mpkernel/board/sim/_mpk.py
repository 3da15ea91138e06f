# The virtual board's own plumbing (not a board module): its filesystem and its link to the
# host process that runs it (mpkernel/board/virtual.py).
#
# Root: the board's folder on this computer is mounted at "/", as a board's flash is, so
# sys.path is a board's ['', '.frozen', '/lib']. The simulated firmware modules (machine,
# network, webrepl) are found as /lib/NAME.py when the board's own /lib has no such file,
# as built-in modules are found on a board; they are not listed. ilistdir gives sizes and
# statvfs gives the virtual board's flash, as the firmware's filesystems do.
import os
import sys

ROOT = SIM = CTL = None
FS_SIZE = 3 * 1024 * 1024
BLOCK = 4096


class Root:
    def __init__(self, root, sim, names):
        self.b = os.VfsPosix(root)  # the board's folder
        self.m = os.VfsPosix(sim)  # the simulated firmware modules
        self.h = os.VfsPosix()  # this computer, for rename (VfsPosix(root) renames wrongly)
        self.root = root
        self.names = names

    def __getattr__(self, name):
        return getattr(self.b, name)

    def _sim(self, p):
        if p[:5] == "/lib/" and p[5:] in self.names:
            try:
                self.b.stat(p)
            except OSError:
                return p[4:]

    def open(self, p, mode):
        q = self._sim(p)
        return self.m.open(q, mode) if q else self.b.open(p, mode)

    def stat(self, p):
        q = self._sim(p)
        return self.m.stat(q) if q else self.b.stat(p)

    def _host(self, p):
        if p[:1] != "/":
            p = self.b.getcwd().rstrip("/") + "/" + p
        return self.root + p

    def rename(self, a, b):
        self.h.rename(self._host(a), self._host(b))

    def ilistdir(self, p):
        for e in self.b.ilistdir(p):
            s = 0
            if e[1] != 0x4000:
                s = self.b.stat(p.rstrip("/") + "/" + e[0] if p else e[0])[6]
            yield (e[0], e[1], e[2], s)

    def _used(self, p):
        n = 0
        for e in self.b.ilistdir(p):
            q = p + "/" + e[0]
            n += 1 + self._used(q) if e[1] == 0x4000 else (self.b.stat(q)[6] + BLOCK - 1) // BLOCK
        return n

    def statvfs(self, p):
        total = FS_SIZE // BLOCK
        free = max(0, total - self._used(""))
        return (BLOCK, BLOCK, total, free, free, 0, 0, 0, 0, 255)


def mount(root, sim, names):
    global ROOT, SIM
    ROOT, SIM = root, sim
    os.umount("/")
    os.mount(Root(root, sim, names), "/")
    os.chdir("/")


BALLAST = []


def shrink_heap(free):
    # A small board's heap: the host starts MicroPython with room to set itself up, then
    # this takes all but `free` bytes, so programs see the small heap (the unix port's heap
    # has a fixed size: what is taken here stays taken). The bytes left free are one block,
    # not holes between the taken ones.
    import gc

    gc.collect()
    try:
        hole = bytearray(max(free - 64, 16))
    except MemoryError:
        hole = None
    size = 1 << 20
    while size >= 16:
        try:
            BALLAST.append(bytearray(size))
        except MemoryError:
            size //= 2
    del hole  # now free: one block
    gc.collect()


SEQ = [0]


def ask(line):
    # One request to the host process over the control channel it handed this process (an
    # inherited socket, CTL); returns its one-line answer ("ok ..." or "error ..."). Answers
    # are numbered: one left over from a request that a Ctrl-C cut short is skipped.
    SEQ[0] += 1
    n = "%d " % SEQ[0]
    CTL.write((n + line + "\n").encode())
    while True:
        got = CTL.readline().decode()
        if not got:
            return "error no answer"
        if got.startswith(n):
            return got[len(n) :].strip()


class Flat:
    # A flat filesystem's os, as the micro:bit v1's: no folders, no stat, no ilistdir.
    def listdir(self):
        return [e[0] for e in os.ilistdir("/") if e[1] != 0x4000]

    def remove(self, name):
        os.remove(_flat(name))

    def size(self, name):
        return os.stat(_flat(name))[6]

    def uname(self):
        return os.uname()


def _flat(name):
    if "/" in name:
        raise OSError(2)  # ENOENT: there are no folders
    return "/" + name


def _run(name, g):
    try:
        open(name).close()
    except OSError:
        return
    try:
        exec(open(name).read(), g)
    except Exception as e:  # a failing boot.py must not stop the board
        sys.print_exception(e)


def _hide(names):
    # Act like a smaller port: "hide=binascii,os.ilistdir" removes those modules/functions.
    for name in names.split(","):
        mod, _, attr = name.partition(".")
        if not attr:
            sys.modules[mod] = None  # "from mod import x" now raises ImportError
            continue
        real = __import__(mod)

        class Module:
            pass

        m = Module()
        for key in dir(real):
            if key != attr and key[0] != "_":
                setattr(m, key, getattr(real, key))
        sys.modules[mod] = m


def start(g):
    # argv: root=FOLDER ctl=FD [fs=BYTES] [heap=BYTES] [main] [flat] [hide=a,b.c]
    global CTL, FS_SIZE
    args = {}
    for a in sys.argv[1:]:
        k, _, v = a.partition("=")
        args[k] = v
    sys.argv[:] = []  # as on a board
    if "ctl" in args:
        CTL = os.VfsPosix().open(int(args["ctl"]), "r+b")  # the socket, as a file
    FS_SIZE = int(args.get("fs", FS_SIZE))
    mount(args.get("root", "."), sys.path[0], ("machine.py", "network.py", "webrepl.py"))
    sys.path[:] = ["", ".frozen", "/lib"]
    if "flat" in args:
        sys.modules["os"] = sys.modules["uos"] = Flat()
    if "hide" in args:
        _hide(args["hide"])
    g.pop("__file__", None)
    if CTL:
        try:
            ask("ready")  # the host process holds input (Ctrl-C) until now
        except Exception:
            pass
    heap = int(args.get("heap", 0))
    if heap:
        # About what a plain heap of that size leaves free once MicroPython has started
        # (what start-up still holds now is given back when it ends: ~1 KB).
        try:
            shrink_heap(heap - 2240)
        except KeyboardInterrupt:  # input flows again: a Ctrl-C for boot.py came early
            pass
    _run("boot.py", g)
    if "main" in args:
        _run("main.py", g)
