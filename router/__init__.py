"""In-process MT and MO routing tables."""
