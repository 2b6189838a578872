"""Webhooks against a real local HTTP receiver (h11 over asyncio), real httpx and real Redis."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any
from urllib.parse import parse_qs

import msgspec
import orjson
import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from engine.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryAttempt,
    DeliveryLog,
    MemoryDeliveryLog,
    RedisDeliveryLog,
    WebhookDelivery,
    WebhookDispatcher,
    WebhookLimits,
    check_webhook_url,
    signature_headers,
    verify_signature,
)
from engine.webhooks.delivery_log_writer import DeliveryLogWriter
from engine.webhooks.guard import AddressGuard
from engine.webhooks.verdicts import Verdict, verdict_of_status, webhook_retry_policy
from tests.engine.webhook_receiver import HANG, HOLD, Receiver

SECRET = "whsec_test"
FAST = WebhookLimits(concurrency=4, timeout=2.0, retry_delays=(0.01, 0.01), private_networks=True)


class WatchedLog:
    """A delivery log (memory unless given) that lets a test await what the dispatcher wrote."""

    def __init__(self, inner: DeliveryLog | None = None) -> None:
        self.inner = inner or MemoryDeliveryLog(length=100)
        self.entries: list[DeliveryAttempt] = []
        self._changed = asyncio.Condition()

    async def record(self, *entries: DeliveryAttempt) -> None:
        await self.inner.record(*entries)
        async with self._changed:
            self.entries.extend(entries)
            self._changed.notify_all()

    async def recent(
        self, account: str, limit: int, message_id: str | None = None
    ) -> list[DeliveryAttempt]:
        return await self.inner.recent(account, limit, message_id)

    async def settled(self, count: int = 1) -> list[DeliveryAttempt]:
        """Every entry so far, once ``count`` deliveries have a final outcome."""
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(
                lambda: sum(e.outcome != "retrying" for e in self.entries) >= count
            )
        return list(self.entries)


@pytest.fixture
def watched_log() -> WatchedLog:
    return WatchedLog()


def delivery(url: str, **overrides: Any) -> WebhookDelivery:
    fields: dict[str, Any] = {
        "account": "bank",
        "message_id": "m1",
        "url": url,
        "payload": {"message_id": "m1", "state": "DELIVERED"},
        "secret": SECRET,
    }
    return WebhookDelivery(**(fields | overrides))


async def dispatch(
    log: WatchedLog, *deliveries: WebhookDelivery, limits: WebhookLimits = FAST
) -> tuple[list[DeliveryAttempt], dict[str, int]]:
    """Sends the deliveries and returns the log entries and counters once all settled."""
    dispatcher = WebhookDispatcher(limits, log, rng=random.Random(7))
    dispatcher.start()
    try:
        assert all(dispatcher.submit(item) for item in deliveries)
        entries = await log.settled(len(deliveries))
    finally:
        await dispatcher.stop(timeout=1.0)
    return entries, dispatcher.counters


# Signing


def test_signature_matches_the_documented_example() -> None:
    body = b'{"message_id":"m1","state":"DELIVERED"}'
    assert signature_headers(SECRET, 1_718_000_000, body) == {
        TIMESTAMP_HEADER: "1718000000",
        SIGNATURE_HEADER: "v1=9acc9b6c0db1126a505c050cb747b882d38f099ce77cb25df8ee268020d835be",
    }


def test_verify_signature_accepts_ours_and_refuses_the_rest() -> None:
    body = b'{"a":1}'
    headers = signature_headers(SECRET, 1_000_000, body)
    header, stamp = headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER]
    assert verify_signature(SECRET, stamp, body, header, now=1_000_000)
    assert verify_signature(SECRET, stamp, body, header, now=1_000_300)
    assert not verify_signature(SECRET, stamp, body, header, now=1_000_301)
    assert not verify_signature(SECRET, stamp, body, header, now=999_000, tolerance=60)
    assert not verify_signature(SECRET, stamp, b'{"a":2}', header, now=1_000_000)
    assert not verify_signature("other", stamp, body, header, now=1_000_000)
    assert not verify_signature(SECRET, "1000001", body, header, now=1_000_000)
    assert not verify_signature(SECRET, "-1", body, header, now=0)
    assert not verify_signature(SECRET, stamp, body, header.replace("v1", "v0"), now=1_000_000)
    assert not verify_signature(SECRET, stamp, body, "v1=", now=1_000_000)


# What arrives


async def test_json_webhook_arrives_signed(receiver: Receiver, watched_log: WatchedLog) -> None:
    entries, counters = await dispatch(watched_log, delivery(receiver.url))
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["smsgw-event"] == "receipt"
    assert request.headers["smsgw-message-id"] == "m1"
    delivery_id = request.headers["smsgw-delivery-id"]
    assert len(delivery_id) == 24
    assert orjson.loads(request.body) == {
        "delivery_id": delivery_id,
        "message_id": "m1",
        "state": "DELIVERED",
    }
    assert verify_signature(
        SECRET,
        request.headers["smsgw-timestamp"],
        request.body,
        request.headers["smsgw-signature"],
        now=time.time(),
    )
    assert [(e.attempt, e.status, e.outcome) for e in entries] == [(1, 200, "delivered")]
    assert counters == {"sent": 1, "retried": 0, "failed": 0, "dropped": 0}


async def test_json_webhook_without_secret_is_unsigned(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    await dispatch(watched_log, delivery(receiver.url, secret=""))
    [request] = receiver.requests
    assert "smsgw-signature" not in request.headers
    assert "smsgw-timestamp" not in request.headers


async def test_jasmin_form_by_get_joins_the_url_query(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    fields = {"id": "m1", "message_status": "DELIVRD", "level": 2, "subdate": "2406101200"}
    item = delivery(receiver.url + "?token=a%26b", form="jasmin", method="GET", payload=fields)
    await dispatch(watched_log, item)
    [request] = receiver.requests
    assert request.method == "GET" and request.body == b""
    assert request.query == {
        "token": ["a&b"],
        "id": ["m1"],
        "message_status": ["DELIVRD"],
        "level": ["2"],
        "subdate": ["2406101200"],
    }
    assert "smsgw-signature" not in request.headers


async def test_jasmin_form_by_post_is_form_encoded(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    fields = {"id": "m1", "message_status": "UNDELIV", "level": 2, "err": "0:1&x=y"}
    await dispatch(watched_log, delivery(receiver.url, form="jasmin", payload=fields))
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {
        "id": ["m1"],
        "message_status": ["UNDELIV"],
        "level": ["2"],
        "err": ["0:1&x=y"],
    }
    assert "smsgw-signature" not in request.headers


def test_a_json_webhook_by_get_is_refused() -> None:
    with pytest.raises(ValueError, match="POST only"):
        delivery("http://127.0.0.1/", method="GET")
    with pytest.raises(ValueError, match="form"):
        delivery("http://127.0.0.1/", form="xml")


# Outcomes and retries


async def test_a_500_is_retried_then_delivered(receiver: Receiver, watched_log: WatchedLog) -> None:
    receiver.answers = [500]
    entries, counters = await dispatch(watched_log, delivery(receiver.url))
    assert len(receiver.requests) == 2
    first, second = (r.headers["smsgw-signature"] for r in receiver.requests)
    assert first.startswith("v1=") and second.startswith("v1=")
    assert len({r.headers["smsgw-delivery-id"] for r in receiver.requests}) == 1
    assert [(e.attempt, e.status, e.outcome) for e in entries] == [
        (1, 500, "retrying"),
        (2, 200, "delivered"),
    ]
    assert counters == {"sent": 1, "retried": 1, "failed": 0, "dropped": 0}
    recent = await watched_log.recent("bank", 10)
    assert [e.attempt for e in recent] == [2, 1]


@pytest.mark.parametrize("status", [400, 401, 404, 410, 301])
async def test_a_client_error_or_redirect_fails_at_once(
    receiver: Receiver, watched_log: WatchedLog, status: int
) -> None:
    receiver.answers = [status]
    entries, counters = await dispatch(watched_log, delivery(receiver.url))
    assert len(receiver.requests) == 1
    assert [(e.attempt, e.status, e.outcome) for e in entries] == [(1, status, "failed")]
    assert counters == {"sent": 0, "retried": 0, "failed": 1, "dropped": 0}


async def test_429_and_5xx_are_retried_until_the_delays_run_out(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    receiver.answers = [429, 503, 502]
    entries, counters = await dispatch(watched_log, delivery(receiver.url))
    assert [(e.attempt, e.status, e.outcome) for e in entries] == [
        (1, 429, "retrying"),
        (2, 503, "retrying"),
        (3, 502, "failed"),
    ]
    assert counters == {"sent": 0, "retried": 2, "failed": 1, "dropped": 0}


async def test_a_timeout_is_retried(receiver: Receiver, watched_log: WatchedLog) -> None:
    receiver.answers = [HANG]
    limits = WebhookLimits(timeout=0.2, retry_delays=(0.01,), private_networks=True)
    entries, _ = await dispatch(watched_log, delivery(receiver.url), limits=limits)
    assert [(e.attempt, e.status, e.error, e.outcome) for e in entries] == [
        (1, None, "timeout after 0.2 s", "retrying"),
        (2, 200, "", "delivered"),
    ]


async def test_a_refused_connection_is_retried(watched_log: WatchedLog) -> None:
    closed = Receiver()
    await closed.start()
    await closed.close()
    entries, counters = await dispatch(watched_log, delivery(closed.url))
    assert [(e.attempt, e.outcome) for e in entries] == [
        (1, "retrying"),
        (2, "retrying"),
        (3, "failed"),
    ]
    assert entries[0].status is None and entries[0].error.startswith("ConnectError")
    assert counters["failed"] == 1


async def test_an_oversized_payload_fails_without_a_call(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    limits = WebhookLimits(max_body_bytes=64, private_networks=True)
    big = delivery(receiver.url, payload={"text": "x" * 100})
    entries, counters = await dispatch(watched_log, big, limits=limits)
    assert receiver.requests == []
    [entry] = entries
    assert (entry.attempt, entry.outcome) == (0, "failed")
    assert "over the limit of 64" in entry.error
    assert counters["failed"] == 1


def test_retry_delays_are_jittered_within_a_fifth() -> None:
    policy = webhook_retry_policy((1, 5, 30), random.Random(1))
    for attempts, base in ((1, 1), (2, 5), (3, 30)):
        delays = [policy.next_delay(attempts) for _ in range(200)]
        assert all(d is not None and base * 0.8 <= d <= base * 1.2 for d in delays)
    assert policy.next_delay(4) is None
    with pytest.raises(ValueError):
        policy.next_delay(0)
    assert webhook_retry_policy((), random.Random(1)).next_delay(1) is None
    assert verdict_of_status(204) is Verdict.DELIVERED
    assert verdict_of_status(599) is Verdict.RETRY
    assert verdict_of_status(418) is Verdict.FAILED


# Queue bound and stop


async def test_submit_says_no_when_full_and_stop_gives_up_the_rest(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    receiver.answers = [HANG] * 4
    limits = WebhookLimits(queue_depth=3, concurrency=1, timeout=30.0, private_networks=True)
    dispatcher = WebhookDispatcher(limits, watched_log)
    assert not dispatcher.submit(delivery(receiver.url)), "not started yet"
    dispatcher.start()
    assert [dispatcher.submit(delivery(receiver.url)) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert dispatcher.held == 3
    await dispatcher.stop(timeout=0.05)
    assert dispatcher.counters == {"sent": 0, "retried": 0, "failed": 0, "dropped": 5}
    assert dispatcher.held == 0
    assert not dispatcher.submit(delivery(receiver.url))


async def test_stop_finishes_attempts_in_flight(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    receiver.answers = [HOLD]
    dispatcher = WebhookDispatcher(FAST, watched_log)
    dispatcher.start()
    assert dispatcher.submit(delivery(receiver.url))
    await receiver.got_request.wait()
    stopping = asyncio.create_task(dispatcher.stop(timeout=2.0))
    receiver.release.set()
    await stopping
    assert dispatcher.counters == {"sent": 1, "retried": 0, "failed": 0, "dropped": 0}
    assert [e.outcome for e in watched_log.entries] == ["delivered"]


async def test_an_answer_to_retry_during_stop_is_given_up(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    receiver.answers, receiver.held_status = [HOLD], 503
    dispatcher = WebhookDispatcher(FAST, watched_log)
    dispatcher.start()
    assert dispatcher.submit(delivery(receiver.url))
    await receiver.got_request.wait()
    stopping = asyncio.create_task(dispatcher.stop(timeout=2.0))
    receiver.release.set()
    await stopping
    assert dispatcher.counters == {"sent": 0, "retried": 0, "failed": 0, "dropped": 1}
    [entry] = watched_log.entries
    assert (entry.status, entry.error, entry.outcome) == (503, "not retried: stopping", "failed")


# The delivery log


def attempt(
    account: str, message_id: str, number: int, outcome: str = "retrying"
) -> DeliveryAttempt:
    return DeliveryAttempt(
        account=account,
        message_id=message_id,
        url="https://example.com/hook",
        event="receipt",
        attempt=number,
        at_ms=1_718_000_000_000 + number,
        status=500,
        error="",
        outcome=outcome,  # type: ignore[arg-type]
    )


async def test_memory_log_is_newest_first_and_bounded_per_account() -> None:
    log = MemoryDeliveryLog(length=3)
    await log.record(attempt("a", "m1", 1), attempt("a", "m2", 1), attempt("b", "m9", 1))
    await log.record(attempt("a", "m1", 2), attempt("a", "m2", 2, "failed"))
    recent = await log.recent("a", 10)
    assert [(e.message_id, e.attempt) for e in recent] == [("m2", 2), ("m1", 2), ("m2", 1)]
    assert [e.attempt for e in await log.recent("a", 10, message_id="m1")] == [2]
    assert len(await log.recent("a", 1)) == 1
    assert await log.recent("nobody", 5) == []
    with pytest.raises(ValueError):
        await log.recent("a", 0)


async def test_redis_log_is_newest_first_trimmed_and_expiring(
    redis_client: Redis, namespace: str
) -> None:
    log = RedisDeliveryLog(redis_client, namespace, length=3, ttl=60)
    await log.record(attempt("a", "m1", 1), attempt("a", "m2", 1), attempt("b", "m9", 1))
    await log.record(attempt("a", "m1", 2), attempt("a", "m2", 2, "failed"))
    recent = await log.recent("a", 10)
    assert [(e.message_id, e.attempt) for e in recent] == [("m2", 2), ("m1", 2), ("m2", 1)]
    assert recent[0] == attempt("a", "m2", 2, "failed")
    assert [e.attempt for e in await log.recent("a", 10, message_id="m2")] == [2, 1]
    assert [e.message_id for e in await log.recent("a", 1)] == ["m2"]
    assert [e.message_id for e in await log.recent("b", 5)] == ["m9"]
    key = log.key("a")
    assert key == f"{namespace}:webhooklog:a"
    assert await redis_client.llen(key) == 3
    assert 0 < await redis_client.ttl(key) <= 60


async def test_dispatcher_writes_attempts_to_the_redis_log(
    receiver: Receiver, redis_client: Redis, namespace: str
) -> None:
    receiver.answers = [503]
    log = RedisDeliveryLog(redis_client, namespace, length=100, ttl=60)
    first = delivery(receiver.url, message_id="m7")
    await dispatch(WatchedLog(log), first, delivery(receiver.url, account="other"))
    recent = await log.recent("bank", 10, message_id="m7")
    assert [(e.attempt, e.status, e.outcome) for e in recent] == [
        (2, 200, "delivered"),
        (1, 503, "retrying"),
    ]
    assert [e.outcome for e in await log.recent("other", 10)] == ["delivered"]


# The API edge


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/smsgw?token=abc",
        "http://127.0.0.1:8080/dlr",
        "HTTPS://user:pass@example.com/",
        "http://[::1]:9000/x",
    ],
)
def test_check_webhook_url_accepts(url: str) -> None:
    assert check_webhook_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "http: or https:, not ftp:"),
        ("example.com/hook", "no scheme"),
        ("javascript:alert(1)", "not javascript:"),
        ("http:///path", "no host"),
        ("http://example.com/a b", "spaces"),
        ("http://example.com/\n", "control"),
        ("http://example.com:99999/", "malformed"),
        ("http://[::1/", "malformed"),
        ("http://example.com:0/", "port"),
        ("https://example.com/" + "a" * 2030, "at most 2048"),
    ],
)
def test_check_webhook_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_webhook_url(url)


def test_limits_are_checked_when_loaded() -> None:
    assert msgspec.convert({"retry_delays": [0.5, 2]}, WebhookLimits).retry_delays == (0.5, 2)
    for bad in ({"concurrency": 0}, {"timeout": 0}, {"retry_delays": [-1]}, {"queue": 5}):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, WebhookLimits)


async def test_log_writer_keeps_the_newest_pending_entries() -> None:
    log = MemoryDeliveryLog(length=10)
    writer = DeliveryLogWriter(log, max_pending=2)
    for number in (1, 2, 3):
        writer.add(attempt("a", "m1", number))
    writer.start()
    await writer.stop(timeout=1.0)
    assert [e.attempt for e in await log.recent("a", 10)] == [3, 2]
    assert writer.dropped == 1


async def test_a_log_store_that_is_down_does_not_stop_deliveries(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    closed = Receiver()
    await closed.start()
    await closed.close()
    unreachable = Redis(host="127.0.0.1", port=closed.port, retry=Retry(NoBackoff(), 0))
    dispatcher = WebhookDispatcher(FAST, RedisDeliveryLog(unreachable, "down", length=10, ttl=60))
    dispatcher.start()
    assert dispatcher.submit(delivery(receiver.url))
    await receiver.got_request.wait()
    await dispatcher.stop(timeout=2.0)
    await unreachable.aclose()
    assert dispatcher.counters["sent"] == 1
    assert dispatcher.log_entries_dropped == 1


async def test_a_hanging_host_holds_only_its_own_share_of_workers(
    receiver: Receiver, watched_log: WatchedLog
) -> None:
    other = Receiver()
    await other.start()
    receiver.answers = [HOLD]
    limits = msgspec.structs.replace(FAST, per_host=1)
    dispatcher = WebhookDispatcher(limits, watched_log)
    dispatcher.start()
    try:
        assert dispatcher.submit(delivery(receiver.url, message_id="slow-1"))
        await receiver.got_request.wait()
        assert dispatcher.submit(delivery(receiver.url, message_id="slow-2"))
        assert dispatcher.submit(delivery(other.url, message_id="fast"))
        await asyncio.wait_for(other.got_request.wait(), 5)  # not stuck behind the slow host
        assert len(receiver.requests) == 1  # its second call waits for the first
        receiver.release.set()
        for _ in range(300):
            if dispatcher.counters["sent"] == 3:
                break
            await asyncio.sleep(0.01)
        assert dispatcher.counters["sent"] == 3 and len(receiver.requests) == 2
    finally:
        await dispatcher.stop(timeout=2.0)
        await other.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254", "[::1]"])
async def test_internal_addresses_are_refused_unless_allowed(
    host: str, watched_log: WatchedLog
) -> None:
    limits = WebhookLimits(concurrency=1, timeout=2.0, retry_delays=(0.01,))
    item = delivery(f"http://{host}:9/hook")
    entries, counters = await dispatch(watched_log, item, limits=limits)
    assert counters["failed"] == 1 and counters["retried"] == 0
    [entry] = entries
    assert entry.status is None and "non-public address" in entry.error


async def test_the_guard_lets_public_addresses_through() -> None:
    assert await AddressGuard(private_networks=False).refusal("93.184.215.14") is None
    assert await AddressGuard(private_networks=True).refusal("127.0.0.1") is None
