"""The admin API: accounts, credentials, credit, connectors, routing and stats of a shard.

Every endpoint needs the admin key as a bearer token (``Authorization: Bearer
<admin key>``; its SHA-256 in ``[api] admin_key_hash`` or the key in
``SMSGW_ADMIN_KEY``): none is a 401, any other key a 403 ``forbidden``.
Every change is audited (`engine.admin.audit`) as ``admin-api``, or as
``cli:<user>`` when the `smsgw` commands say so in ``X-Smsgw-Actor``.

Endpoints (JSON; errors are problem+json with a stable ``code``):

- ``/admin/accounts`` GET, POST; ``/admin/accounts/{id}`` GET, PATCH (limits,
  settings, ``enabled``: a disabled account's messages are refused at the
  ledger on every shard, ``account_disabled``, 403 on the HTTP API);
  ``/admin/groups`` GET (groups are the accounts' ``groups`` field).
- ``/admin/accounts/{id}/smpp-password`` PUT (generated and shown once when
  the body names none); ``/admin/accounts/{id}/api-keys`` GET, POST (the key
  shown once), ``.../api-keys/{key_id}`` DELETE.
- ``/admin/accounts/{id}/balance`` GET; ``.../balance/adjustments`` POST: a
  top-up or debit with a reason, idempotent by its reference (201 applied,
  200 ``duplicate``; 409 ``no_credit`` for a debit beyond the available credit).
- ``/admin/connectors`` GET; ``/admin/connectors/{id}`` GET, PUT (create, or
  change: that connector alone restarts on its own queue);
  ``.../start``, ``.../stop`` POST.
- ``/admin/routing`` GET, PUT (422 ``invalid_routing`` listing every issue
  with its place, and nothing changes; else the table is swapped whole and
  published to every shard); ``/admin/routing/explain`` POST.
- ``/admin/stats`` GET: the shard's live counters.

What lasts: balances, adjustments, limits, the enabled flag and API keys are
in Redis and survive restarts and are seen by every shard, but a starting
shard writes the credit_limit and throughput of its config file's accounts
to the ledger again (and enables them). Accounts and routing documents reach
the shards that are running (Redis pub/sub); connectors change on this shard
only. After a restart, accounts, connectors and routes come from the config
file: write changes there too to keep them. See `engine.admin.administration`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from api import admin_accounts, admin_connectors, admin_routing
from api.openapi import Operation

routes: list[BaseRoute] = [
    *admin_accounts.routes,
    *admin_connectors.routes,
    *admin_routing.routes,
]
OPERATIONS: list[Operation] = [
    *admin_accounts.OPERATIONS,
    *admin_connectors.OPERATIONS,
    *admin_routing.OPERATIONS,
]
