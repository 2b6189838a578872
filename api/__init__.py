"""Starlette HTTP front."""
