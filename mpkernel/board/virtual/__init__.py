"""The virtual board: MicroPython's unix port behind a PTY, its simulator and WebREPL server."""
