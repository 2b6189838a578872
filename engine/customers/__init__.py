"""Customers: the SMPP server sessions customers bind to, and what belongs to them.

`sessions` (binds, submit_sm/query_sm/cancel_sm/replace_sm answered through the
pipeline), `accounts` (account configuration, the registry of live binds),
`delivery` (receipts and MO stored, then sent to a customer's bind or parked
for another shard), `held` (what waits in memory for a window slot),
`pending` and `redis_pending` (the store they wait in until answered; see
docs/customers.md), `passwords` and
`api_keys` (credentials), `login_guard` and `logins` (failed logins over SMPP
and HTTP throttled and locked out, docs/security.md), `idempotency` (the
HTTP front's idempotency keys).

May import: engine.messages, engine.loop, engine.shard, ledger, router, smpp.
"""
