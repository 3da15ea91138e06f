"""Links to a board and finding ports: bytes in and out, each link's own differences."""
