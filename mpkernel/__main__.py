"""`python -m mpkernel`: run the kernel, or `install` / `uninstall` its kernelspec."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["install"]:
        from .install import main as install

        return install(argv[1:])
    if argv[:1] == ["uninstall"]:
        from .install import uninstall_main

        return uninstall_main(argv[1:])
    from .kernel import main as run_kernel

    run_kernel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
