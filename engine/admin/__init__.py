"""Administration: what the admin API changes, applied on this shard and published to peers.

`administration` (the one object the facade hands the HTTP front), `accounts`,
`connectors`, `routing` and `stats` (one job each), `publishing` (pub/sub of
changes between shards), `audit` (who changed what, when), `views` (what they
take and show).

May import: engine.gateway (the shard it administers), every room of engine,
ledger, router, smpp.
"""
