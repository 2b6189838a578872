"""The sender-ID registry (docs/senders.md): the source addresses an account
may send from.

A customer requests a sender ID, staff approve or reject it; each shard keeps
the approved ones in memory and learns of a decision on another shard from a
pub/sub notice. On the accept path an account's ``sender_policy`` decides what
an unapproved source gets: nothing ("open"), a refusal ("refuse",
``sender_not_approved``) or the account's ``default_sender`` ("rewrite").

Modules: `model` (a sender ID, its states, the shape of a sender), `store`
(Redis, memory), `service` (`SenderRegistry`: decisions, and keeping shards in
step), `policy` (the accept path's check), `install` (onto a gateway).
"""
