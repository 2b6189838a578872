"""A test event: one signed call now, its answer returned, never retried,
written to the delivery log as event ``test``."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import orjson
import pytest

from engine.customers.accounts import AccountConfig
from engine.webhooks import WebhookDispatcher, WebhookLimits, send_test_event, verify_signature
from tests.engine.webhook_receiver import Receiver
from tests.engine.webhooks.test_webhooks import WatchedLog

SECRET = "whsec_probe"
LIMITS = WebhookLimits(timeout=2.0, retry_delays=(0.01,), private_networks=True)


@pytest.fixture
async def dispatcher(watched_log: WatchedLog) -> AsyncIterator[WebhookDispatcher]:
    started = WebhookDispatcher(LIMITS, watched_log)
    started.start()
    yield started
    await started.stop(timeout=1.0)


@pytest.fixture
def watched_log() -> WatchedLog:
    return WatchedLog()


def account(url: str, secret: str = SECRET) -> AccountConfig:
    return AccountConfig(id="bank", password_hash="", webhook_url=url, webhook_secret=secret)


async def test_the_event_is_signed_and_the_answer_returned(
    dispatcher: WebhookDispatcher, watched_log: WatchedLog, receiver: Receiver
) -> None:
    probe = await send_test_event(dispatcher, account(receiver.url))
    assert (probe.delivered, probe.status, probe.error) == (True, 200, "")
    (request,) = receiver.requests
    headers = request.headers
    assert headers["smsgw-event"] == "test"
    assert headers["smsgw-delivery-id"] == probe.delivery_id
    assert "smsgw-message-id" not in headers
    assert verify_signature(
        SECRET, headers["smsgw-timestamp"], request.body, headers["smsgw-signature"], time.time()
    )
    body = orjson.loads(request.body)
    assert (body["event"], body["account"], body["delivery_id"]) == (
        "test",
        "bank",
        probe.delivery_id,
    )
    (entry,) = await watched_log.settled(1)
    assert (entry.event, entry.outcome, entry.status, entry.attempt) == (
        "test",
        "delivered",
        200,
        1,
    )


async def test_a_refusal_is_answered_once_and_not_retried(
    dispatcher: WebhookDispatcher, watched_log: WatchedLog, receiver: Receiver
) -> None:
    receiver.answers = [503, 200]
    probe = await send_test_event(dispatcher, account(receiver.url))
    assert (probe.delivered, probe.status) == (False, 503)
    (entry,) = await watched_log.settled(1)
    assert (entry.outcome, entry.status) == ("failed", 503)
    assert len(receiver.requests) == 1
    assert dispatcher.counters == {"sent": 0, "retried": 0, "failed": 0, "dropped": 0}


async def test_without_a_secret_the_event_goes_unsigned(
    dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    probe = await send_test_event(dispatcher, account(receiver.url, secret=""))
    assert probe.delivered
    assert "smsgw-signature" not in receiver.requests[0].headers


async def test_no_receiver_listening_is_an_error_without_a_status(
    dispatcher: WebhookDispatcher,
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    probe = await send_test_event(dispatcher, account(f"http://127.0.0.1:{port}/hook"))
    assert (probe.delivered, probe.status) == (False, None)
    assert probe.error


async def test_an_account_without_a_url_is_refused(dispatcher: WebhookDispatcher) -> None:
    with pytest.raises(ValueError, match="no webhook URL"):
        await send_test_event(dispatcher, account(""))
