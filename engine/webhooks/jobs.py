"""A call on its way: one delivery, or a batch of them to one URL.

An account that allows batches (``webhook_batch`` above 1) has its receipts
to one URL gathered while a call waits for a worker (or for its host to have
a call fewer in flight): each new delivery joins the waiting call until it
holds ``batch`` deliveries or ``max_body_bytes``. So batches grow exactly
when the receiver is the bottleneck, and a quiet account still gets each
receipt at once. A call is sealed when its first attempt starts; its retries
send the same bytes (but a fresh signature).
"""

from __future__ import annotations

from engine.webhooks.requests import WebhookDelivery, WebhookRequest
from engine.webhooks.wire import WireRequest, origin_of, wire_request

BatchKey = tuple[str, str, str]
"""Account, URL and secret: what the deliveries of one batch share."""


def batch_key(delivery: WebhookDelivery) -> BatchKey | None:
    """Where ``delivery`` may join others; None when it goes alone."""
    if delivery.batch <= 1 or delivery.form != "json":
        return None
    return delivery.account, delivery.url, delivery.secret


class Job:
    __slots__ = ("_size", "attempts", "deliveries", "key", "origin", "requests", "wire")

    def __init__(self, delivery: WebhookDelivery, request: WebhookRequest) -> None:
        self.deliveries = [delivery]
        self.requests = [request]
        self.key = batch_key(delivery)
        """Set while the job may still take more deliveries."""
        self.origin = origin_of(request.url)
        self.attempts = 0
        self.wire: WireRequest | None = None
        self._size = len(request.body) + 2

    def join(self, delivery: WebhookDelivery, request: WebhookRequest, max_bytes: int) -> bool:
        """Take one more delivery into this batch, if it has room for it."""
        size = self._size + len(request.body) + 1
        if len(self.deliveries) >= delivery.batch or size > max_bytes:
            return False
        self.deliveries.append(delivery)
        self.requests.append(request)
        self._size = size
        return True

    def seal(self) -> WireRequest:
        """The call's bytes, built at its first attempt (ValueError for a host
        name that cannot be written in a request)."""
        if self.wire is None:
            self.key = None
            batched = batch_key(self.deliveries[0]) is not None
            self.wire = wire_request(self.requests, self.deliveries, batched)
        return self.wire
