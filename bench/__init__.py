"""Benchmarks and load tools; each module prints its figures as JSON."""
