"""The raw REPL protocol: raw-paste, run ends, the stdin relay, cell preparation."""
