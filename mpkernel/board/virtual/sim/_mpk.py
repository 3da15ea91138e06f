# The virtual board's own plumbing (not a board module): its filesystem and its link to the
# host process that runs it (mpkernel/board/virtual/board.py).
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
    # Every path is made absolute and normalised here ("/" has no parent, as on a board),
    # and the host process checks that it stays in the folder with links followed
    # (ask "inside"): the board's filesystem never reaches the rest of this computer.
    def __init__(self, root, sim, names):
        self.b = os.VfsPosix(root)  # the board's folder
        self.m = os.VfsPosix(sim)  # the simulated firmware modules
        self.h = os.VfsPosix()  # this computer, for rename (VfsPosix(root) renames wrongly)
        self.root = root
        self.names = names
        self.cwd = "/"

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def _norm(self, p):
        if p[:1] != "/":
            p = self.cwd + "/" + p
        parts = []
        for q in p.split("/"):
            if q == "..":
                if parts:
                    parts.pop()
            elif q and q != ".":
                parts.append(q)
        return "/" + "/".join(parts)

    def _in(self, p):
        # The normalised path, once the host says that it stays in the folder (EACCES if not).
        p = self._norm(p)
        if CTL and p != "/" and ask("inside " + _line(p)) != "ok":
            raise OSError(13)  # EACCES
        return p

    def _sim(self, p):
        if p[:5] == "/lib/" and p[5:] in self.names:
            try:
                self.b.stat(p)
            except OSError:
                return p[4:]

    def open(self, p, mode):
        p = self._norm(p)
        q = self._sim(p)
        return self.m.open(q, mode) if q else self.b.open(self._in(p), mode)

    def stat(self, p):
        p = self._norm(p)
        q = self._sim(p)
        return self.m.stat(q) if q else self.b.stat(self._in(p))

    def chdir(self, p):
        p = self._in(p)
        if not self.b.stat(p)[0] & 0x4000:
            raise OSError(20)  # ENOTDIR
        self.b.chdir(p)
        self.cwd = p

    def getcwd(self):
        return self.cwd

    def mkdir(self, p):
        self.b.mkdir(self._in(p))

    def rmdir(self, p):
        p = self._in(p)
        if p == "/":
            raise OSError(13)  # EACCES: the board's own root stays
        self.b.rmdir(p)

    def remove(self, p):
        self.b.remove(self._in(p))

    def rename(self, a, b):
        self.h.rename(self.root + self._in(a), self.root + self._in(b))

    def ilistdir(self, p):
        p = self._in(p)
        for e in self.b.ilistdir(p):
            q = p.rstrip("/") + "/" + e[0]
            if e[1] == 0x4000:
                yield (e[0], 0x4000, e[2], 0)
                continue
            try:  # a plain file in a folder that is inside is inside; a link is checked
                st = self.b.stat(q) if e[1] == 0x8000 else self.stat(q)
            except OSError:
                continue  # a link that leads out of the folder (or nowhere) is not listed
            kind = 0x4000 if st[0] & 0x4000 else 0x8000
            yield (e[0], kind, e[2], 0 if kind == 0x4000 else st[6])

    def _used(self, p):
        n = 0
        for e in self.b.ilistdir(p or "/"):
            q = p + "/" + e[0]
            if e[1] == 0x4000:
                n += 1 + self._used(q)
            elif e[1] == 0x8000:
                n += (self.b.stat(q)[6] + BLOCK - 1) // BLOCK
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
    BALLAST.extend([None] * 128)  # room made now: a list growing later fails when full
    try:
        hole = bytearray(max(free - 64, 16))
    except MemoryError:
        hole = None
    size, n = 1 << 20, 0
    while size >= 16 and n < len(BALLAST):
        try:
            BALLAST[n] = bytearray(size)
            n += 1
        except MemoryError:
            size //= 2
    del hole  # now free: one block
    gc.collect()


SEQ = [0]


def _line(p):
    # A path as one line for ask(): as it is, or (rarely) its UTF-8 in hex after a "?".
    if "\n" in p or "\r" in p or p[:1] == "?":
        return "?" + "".join("%02x" % c for c in p.encode())
    return p


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


def _exists(name):
    try:
        open(name).close()
        return True
    except OSError:
        return False


def _run(name, g):
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
    heap = int(args.get("heap", 0))
    if heap:
        # About what a plain heap of that size leaves free once MicroPython has started
        # (before the host lets input through, so that no Ctrl-C cuts it short).
        shrink_heap(heap - 1600)
    # Looked for before input flows: a Ctrl-C sent at connect stops boot.py or main.py, or
    # finds the prompt when there is neither, and never cuts the board's own start-up short.
    boot = _exists("boot.py")
    main = "main" in args and _exists("main.py")
    if CTL:
        try:
            ask("ready" if boot or main else "ready-at-prompt")
        except Exception:
            pass
    if boot:
        _run("boot.py", g)
    if main:
        _run("main.py", g)
