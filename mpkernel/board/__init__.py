"""Talking to a MicroPython board: transports, the raw-REPL protocol, board operations."""
