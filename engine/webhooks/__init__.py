"""Webhooks: receipts (and other events) POSTed to HTTP customers.

The public face of the modules of this package:

- `WebhookDispatcher` (`dispatcher`): ``start()``, ``submit(delivery) -> bool``
  from the pipeline, ``await stop(timeout)``; ``counters``, ``held`` and
  ``log_entries_dropped`` for metrics.
- `WebhookDelivery`, `check_webhook_url` (`requests`): what to send; the
  ``json`` (signed v1) and ``jasmin`` (unsigned dlr-url) forms.
- `signature_headers`, `verify_signature` (`signing`): the v1 signature,
  for us and for receivers.
- `DeliveryLog`, `MemoryDeliveryLog`, `RedisDeliveryLog` (`delivery_log`): each
  attempt's outcome, for the API's delivery log.
- `send_test_event`, `WebhookProbe` (`probe`): one signed test event, its
  answer at once (the portal's "send test").

What a receiver sees: a ``json`` webhook is ``POST`` with ``Content-Type:
application/json``, ``Smsgw-Event``, ``Smsgw-Message-Id`` and, when the
account has a webhook secret, ``Smsgw-Timestamp`` and ``Smsgw-Signature:
v1=<hex HMAC-SHA256 of "<timestamp>." + body>``. Any 2xx acknowledges it;
429, 5xx, timeouts and network errors are retried (about 1 s, 5 s, 30 s, 2 min,
10 min later); other answers fail it for good. The same event may arrive more
than once. A ``jasmin`` webhook carries Jasmin's dlr-url fields, unsigned.
An account's ``webhook_batch`` above 1 sends its receipts to one URL as JSON
arrays of up to that many (docs/customers.md).
Also here: `callbacks` (a message's receipts as webhooks), `jasmin_dlr`
(Jasmin's dlr-url fields), `guard` (which addresses a webhook may reach),
`verdicts` (which answers are retried, by `ledger.retry`), `delivery_log_writer`;
the HTTP client: `connections` (keep-alive pool per origin, opened through the
guard), `http1` (request head, response parser, sans-IO), `wire` (a call's
bytes, signed per attempt), `jobs` (a call of one delivery or a batch).

May import: engine.messages (message and receipt types), engine.customers
(accounts), engine.loop, ledger, smpp.
"""

from engine.webhooks.delivery_log import (
    DeliveryAttempt,
    DeliveryLog,
    MemoryDeliveryLog,
    RedisDeliveryLog,
)
from engine.webhooks.dispatcher import WebhookDispatcher, WebhookLimits
from engine.webhooks.probe import WebhookProbe, send_test_event
from engine.webhooks.requests import WebhookDelivery, check_webhook_url
from engine.webhooks.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature_headers,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryAttempt",
    "DeliveryLog",
    "MemoryDeliveryLog",
    "RedisDeliveryLog",
    "WebhookDelivery",
    "WebhookDispatcher",
    "WebhookLimits",
    "WebhookProbe",
    "check_webhook_url",
    "send_test_event",
    "signature_headers",
    "verify_signature",
]
