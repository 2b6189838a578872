"""PostgreSQL schema as numbered migrations (package data)."""
