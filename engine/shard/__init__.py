"""The shard among its peers: registry, outbox takeover and parked receipts.

`registry` (heartbeats, claims of a dead peer's outbox, `OutboxTakeover`),
`parking` (receipts and MO for an account bound on another shard, in Redis).
Lua scripts sit in `lua/` beside them.

May import: engine.messages, engine.loop, ledger, smpp.
"""
