"""Magics: wifi (see the module's functions)."""
