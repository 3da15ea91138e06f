"""The kernel side of the JupyterLab / Notebook 7 extension (the board panel).

`channel` is the comm target the panel talks to; `operations` are the requests it can make,
as a thin layer over the board API that the magics use too.
"""

from .channel import TARGET, BoardChannel

__all__ = ["TARGET", "BoardChannel"]
