"""Magics: files (see the module's functions)."""
