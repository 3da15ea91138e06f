"""Magics: flash (see the module's functions)."""
