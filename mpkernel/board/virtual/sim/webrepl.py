"""The virtual board's `webrepl`: a real WebREPL, served by the host process on this computer.

SIMULATED radio, real protocol: start() asks the process that runs the virtual board
(mpkernel/board/virtual/board.py) to serve WebREPL for this board on 127.0.0.1, on port 8266 when
it is free, else on a free port; %connect ws://127.0.0.1:PORT reaches this same board. As
on a board, a reset ends it and boot.py starts it again.
"""

import sys as _sys

SIMULATED = True


def _ask(line):
    return _sys.modules["_mpk"].ask(line)


def listening():
    # "ws://127.0.0.1:PORT" while WebREPL serves this board, else None (not in the firmware).
    a = _ask("webrepl-status").split()
    return "ws://127.0.0.1:" + a[1] if len(a) > 1 and a[0] == "ok" else None


def start(port=8266, password=None, accept_handler=None):
    if password is None:
        try:
            import webrepl_cfg

            password = webrepl_cfg.PASS
        except Exception:
            print("WebREPL is not configured, run 'import webrepl_setup'")
            return
    a = _ask("webrepl-start %d %s" % (port, password)).split(None, 1)
    if a[0] != "ok":
        raise OSError(a[1] if len(a) > 1 else "WebREPL did not start")
    print("WebREPL server started on http://127.0.0.1:%s/ (virtual board: this computer)" % a[1])
    print("Started webrepl in normal mode")


def start_foreground(port=8266, password=None):
    start(port, password)


def stop():
    _ask("webrepl-stop")
