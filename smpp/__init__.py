"""SMPP 3.4 protocol core, usable on its own as a library."""
