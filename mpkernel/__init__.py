"""mpkernel: a Jupyter kernel for MicroPython boards."""

__version__ = "0.1.0"
