# Prints repr() of mpkernel's virtual board's WebREPL address ('ws://' while it does not
# serve), or False on any other board (which has no _mpk module).
def _mpk_wv():
    import sys

    if not sys.modules.get("_mpk"):
        print("False")
        return
    import webrepl

    print(repr(webrepl.listening() or "ws://"))
