"""Operators: the connectors through which messages leave for mobile operators.

`connector` (one operator route: its binds, its throughput token bucket, the
retry and failover policy of each message), `bind` (one SMPP client session,
reconnecting with backoff, sending from the scheduler), `scheduler` (strict
priority classes and per-account fair queueing), `submission` (the parts of
one message on the wire), `connector_config` (its typed configuration),
`error_map` (which operator refusals are temporary, throttling or permanent),
`pacing` (the connector's rate slowed by throttling and regained, AIMD).

May import: engine.messages (message types), engine.loop, ledger (retry), smpp.
"""
