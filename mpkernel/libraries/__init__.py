"""Libraries on the board: packages installed through the host (mip), compiled .mpy files."""
