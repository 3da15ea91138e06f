"""Magics: host (see the module's functions)."""
