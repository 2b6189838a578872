"""Opt-out lists: numbers that get no more messages (docs/optout.md).

A global list and one list per account, in Redis (or memory) and mirrored in
each shard's memory; a screen on the accept path refuses a message to a listed
number (``opted_out``) before anything is held; an MO whose text is a stop
keyword lists its sender for the account it is routed to and confirms it;
lists go in and out as CSV.

Modules: `numbers` (the E.164 form kept), `config` (``[optout]``), `store`
(Redis, memory), `mirror` (each shard's sets), `screen` (the refusal),
`service` (`OptOut`: changes, and keeping shards in step), `keywords` and
`stop` (the MO hook), `csvfile` (import, export), `install` (onto a gateway;
apart, so that `engine.config` can read `config` without the gateway).
"""
