"""Magics: webrepl (see the module's functions)."""
