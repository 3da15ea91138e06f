# input() and sys.stdin for notebook cells: each line the program reads is asked of the
# notebook. The marker tells mpkernel to ask (with the prompt); it sends the typed line and
# \r, or \x1e and \r where the notebook has no stdin (then EOFError, like an empty stdin).
class _mpk_In:
    b = ""

    def line(self, p=""):
        import sys

        print("\x1empk-in\x1e" + p + "\x1e\x1f", end="")  # no sys.stdout on 1.9 micro:bit
        s = ""
        r = getattr(sys, "stdin", None)
        if r:
            r = r.read
        else:  # 1.9-era micro:bit: no sys.stdin, its REPL's UART is microbit.uart
            from microbit import uart

            def r(n):
                while not uart.any():
                    pass
                return chr(uart.read(1)[0])

        while 1:
            c = r(1)
            if not c or c in "\r\n":
                break
            s += c
        if s == "\x1e":
            raise EOFError("no stdin")
        return s

    def readline(self):
        if not self.b:
            self.b = self.line() + "\n"
        i = self.b.find("\n") + 1
        s, self.b = self.b[:i], self.b[i:]
        return s

    def read(self, n=-1):
        if n < 0:
            return self.readline()
        while len(self.b) < n:
            self.b += self.line() + "\n"
        s, self.b = self.b[:n], self.b[n:]
        return s


_mpk_stdin = _mpk_In()


def input(p=""):
    if _mpk_stdin.b:
        return _mpk_stdin.readline()[:-1]
    return _mpk_stdin.line(str(p))
