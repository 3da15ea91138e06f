"""%mount and %umount: a folder of this computer as the board's working folder."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..services import mount as mounting
from .registry import arg, magic

if TYPE_CHECKING:
    from ..services.context import Context


@magic("mount")
@arg("folder", nargs="?", help="folder on this computer (e.g. . for the notebook's folder)")
def mount_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Mount a folder of this computer on the board at /remote, as its current folder.

    import and open() on the board then read and write this computer's files over the
    link, while the kernel is connected: edit a module here and import it there, without
    copying. A soft reset keeps it mounted; %umount ends it. The board sees only this
    folder (no `..` out of it, no links leading out); files with more than one hard link
    (their other name may be outside it), FIFOs and devices are refused. %put/%get/%cat
    on paths in /remote copy on this computer. Without FOLDER: what is mounted.
    """
    if args.folder is None:
        folder = mounting.mounted(kernel.connection)
        kernel.say(f"{folder} is mounted at {mounting.MOUNT_POINT}\n" if folder else
                   "Nothing is mounted: %mount FOLDER mounts one.\n")  # fmt: skip
        return
    folder = mounting.mount(kernel.connection, args.folder)
    kernel.say(
        f"Mounted {folder} at {mounting.MOUNT_POINT} (the board's current folder): "
        "import and open() there use this computer's files. %umount ends it.\n"
    )


@magic("umount")
def umount_magic(kernel: Context, args: argparse.Namespace) -> None:
    """Unmount the folder mounted with %mount (the board's current folder goes back to /)."""
    folder = mounting.unmount(kernel.connection)
    kernel.say(f"Unmounted {folder}.\n" if folder else "Nothing was mounted.\n")
