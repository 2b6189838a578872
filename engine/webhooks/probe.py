"""A test event: one signed call to an account's webhook URL, answered at once.

The portal's "send test" button uses it so that a customer sees what its
receiver answers (and whether it checks our signature) without waiting for a
receipt. It goes through the dispatcher's own connection pool and address
guard, signed like a receipt, but is tried once, never retried, and written
to the account's delivery log with the event ``test``.
"""

from __future__ import annotations

import time

import msgspec

from engine.customers.accounts import AccountConfig
from engine.webhooks.dispatcher import WebhookDispatcher
from engine.webhooks.requests import WebhookDelivery
from engine.webhooks.verdicts import Verdict

TEST_EVENT = "test"


class WebhookProbe(msgspec.Struct, frozen=True, kw_only=True):
    """What the receiver answered to a test event."""

    delivered: bool
    """A 2xx answer: the receiver acknowledged it."""
    status: int | None
    """The answer's HTTP status; None when none came (see ``error``)."""
    error: str = ""
    delivery_id: str


def test_event(account: AccountConfig, now: float) -> WebhookDelivery:
    """The account's test event, signed with its secret (unsigned without one)."""
    payload = {"event": TEST_EVENT, "account": account.id, "sent_at": int(now)}
    return WebhookDelivery(
        account=account.id,
        message_id="",
        url=account.webhook_url,
        payload=payload,
        secret=account.webhook_secret,
        event=TEST_EVENT,
    )


async def send_test_event(dispatcher: WebhookDispatcher, account: AccountConfig) -> WebhookProbe:
    """ValueError when the account has no webhook URL."""
    if not account.webhook_url:
        raise ValueError("the account has no webhook URL")
    delivery = test_event(account, time.time())
    answer = await dispatcher.try_once(delivery)
    return WebhookProbe(
        delivered=answer.verdict is Verdict.DELIVERED,
        status=answer.status,
        error=answer.error,
        delivery_id=delivery.delivery_id,
    )
