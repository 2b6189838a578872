"""Credit ledger: Redis Lua commit point, in-memory twin, PostgreSQL persister."""
