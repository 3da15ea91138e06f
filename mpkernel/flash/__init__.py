"""ESP chip tools through esptool's Python API: identity, backup, restore, erase, flash.

`esp` is the only module that imports esptool; importing this package installs
`log.NotebookLog` first, so everything esptool prints and its progress reach the notebook.
"""

from . import log  # noqa: F401  (installs the notebook logger before esptool is imported)
