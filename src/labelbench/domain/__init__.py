"""Plain domain vocabulary shared by every layer (no I/O, no frameworks)."""
