"""`python -m mpkernel`: run the kernel, or `install` / `uninstall` its kernelspec."""

from __future__ import annotations

import sys

USAGE = """\
usage: python -m mpkernel install [--user | --sys-prefix | --prefix DIR] [--name NAME]
                                  [--display-name NAME]
       python -m mpkernel uninstall [--user | --sys-prefix | --prefix DIR] [--name NAME]
       python -m mpkernel -f CONNECTION_FILE

mpkernel: a Jupyter kernel whose cells run on a MicroPython board.

  install     register the MicroPython kernel for this interpreter (install -h for more)
  uninstall   remove that registration
  -f FILE     run the kernel (what Jupyter does, with the kernelspec's argv)

Environment: MPKERNEL_PORT (a port, a URL or 'virtual': connect when the kernel starts),
MPKERNEL_MAX_OUTPUT, MPKERNEL_WIFI_PASSWORD, MPKERNEL_WEBREPL_PASSWORD.
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    first = argv[0] if argv else ""
    if first == "install":
        from .install import main as install

        return install(argv[1:])
    if first == "uninstall":
        from .install import uninstall_main

        return uninstall_main(argv[1:])
    if first in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    if first and not first.startswith("-"):
        print(
            f"python -m mpkernel: unknown command {first!r}: use install, uninstall or "
            "-f CONNECTION_FILE (--help for more).",
            file=sys.stderr,
        )
        return 2
    from .services.warm_start import start_virtual_board_early

    start_virtual_board_early()  # while the kernel's own modules load
    from .kernel import main as run_kernel

    run_kernel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
