"""Receipts sent together as a JSON array (an account's ``webhook_batch``), and the
request bytes a call sends, against the real local receiver."""

from __future__ import annotations

import base64
import random
import time
from typing import Any

import orjson

from engine.webhooks import WebhookDispatcher, WebhookLimits, verify_signature
from engine.webhooks.requests import encode_delivery
from engine.webhooks.wire import origin_of, wire_request
from tests.engine.webhook_receiver import Receiver
from tests.engine.webhooks.test_webhooks import FAST, SECRET, WatchedLog, delivery


def receipts(url: str, count: int, batch: int, **overrides: Any) -> list[Any]:
    return [
        delivery(
            url,
            message_id=f"m{i}",
            payload={"message_id": f"m{i}", "state": "delivered"},
            batch=batch,
            **overrides,
        )
        for i in range(count)
    ]


async def send_all(log: WatchedLog, items: list[Any], limits: WebhookLimits = FAST) -> Any:
    dispatcher = WebhookDispatcher(limits, log, rng=random.Random(3))
    dispatcher.start()
    try:
        assert all(dispatcher.submit(item) for item in items)  # in one loop turn
        await log.settled(len(items))
    finally:
        await dispatcher.stop(timeout=1.0)
    return dispatcher


async def test_receipts_of_one_turn_share_posts_of_at_most_batch(receiver: Receiver) -> None:
    log = WatchedLog()
    dispatcher = await send_all(log, receipts(receiver.url, 7, batch=3))
    bodies = [orjson.loads(request.body) for request in receiver.requests]
    assert sorted(len(body) for body in bodies) == [1, 3, 3]
    elements = [element for body in bodies for element in body]
    assert sorted(e["message_id"] for e in elements) == [f"m{i}" for i in range(7)]
    assert all(len(e["delivery_id"]) == 24 for e in elements)
    for request in receiver.requests:
        assert request.headers["content-type"] == "application/json"
        assert "smsgw-message-id" not in request.headers  # a batch tells of many
        assert len(request.headers["smsgw-delivery-id"]) == 24
        assert verify_signature(
            SECRET,
            request.headers["smsgw-timestamp"],
            request.body,
            request.headers["smsgw-signature"],
            now=time.time(),
        )
    assert dispatcher.counters == {"sent": 7, "retried": 0, "failed": 0, "dropped": 0}
    assert sorted(e.message_id for e in log.entries) == [f"m{i}" for i in range(7)]
    assert {(e.attempt, e.status, e.outcome) for e in log.entries} == {(1, 200, "delivered")}


async def test_a_batch_is_retried_whole_with_the_same_body(receiver: Receiver) -> None:
    receiver.answers = [503]
    log = WatchedLog()
    dispatcher = await send_all(log, receipts(receiver.url, 2, batch=5))
    first, second = receiver.requests
    assert first.body == second.body and len(orjson.loads(first.body)) == 2
    assert first.headers["smsgw-delivery-id"] == second.headers["smsgw-delivery-id"]
    assert dispatcher.counters == {"sent": 2, "retried": 2, "failed": 0, "dropped": 0}
    assert sorted((e.message_id, e.attempt, e.outcome) for e in log.entries) == [
        ("m0", 1, "retrying"),
        ("m0", 2, "delivered"),
        ("m1", 1, "retrying"),
        ("m1", 2, "delivered"),
    ]


async def test_batches_stay_within_the_body_limit_and_apart_per_url(receiver: Receiver) -> None:
    limits = WebhookLimits(concurrency=4, max_body_bytes=200, private_networks=True)
    other = receiver.url + "?other=1"
    items = receipts(receiver.url, 4, batch=10) + receipts(other, 1, batch=10)
    await send_all(WatchedLog(), items, limits)
    sizes = sorted(len(request.body) for request in receiver.requests)
    assert len(receiver.requests) == 3 and max(sizes) <= 200
    assert sum(r.target.endswith("?other=1") for r in receiver.requests) == 1


async def test_batch_one_sends_each_receipt_alone(receiver: Receiver) -> None:
    await send_all(WatchedLog(), receipts(receiver.url, 3, batch=1))
    assert len(receiver.requests) == 3
    assert all(isinstance(orjson.loads(r.body), dict) for r in receiver.requests)
    assert {r.headers["smsgw-message-id"] for r in receiver.requests} == {"m0", "m1", "m2"}


def test_the_request_head_carries_host_target_and_credentials() -> None:
    item = delivery("https://us%40r:p%3Ass@Hooks.Example.com/dlr/é?a=ü", secret="")
    wire = wire_request([encode_delivery(item, 1000)], [item])
    assert wire.origin == ("https", "hooks.example.com", 443)
    head, _, body = wire.encode(1_700_000_000).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /dlr/%C3%A9?a=%C3%BC HTTP/1.1"
    assert lines[1] == "Host: hooks.example.com"
    assert f"Authorization: Basic {base64.b64encode(b'us@r:p:ss').decode()}" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert "Smsgw-Signature" not in head.decode()
    assert origin_of("http://[::1]:8080/x") == ("http", "::1", 8080)
    ipv6 = delivery("http://[::1]:8080/x")
    head = wire_request([encode_delivery(ipv6, 1000)], [ipv6]).encode(1).split(b"\r\n")
    assert head[1] == b"Host: [::1]:8080"


async def test_a_host_name_dns_cannot_hold_fails_for_good_and_alone(receiver: Receiver) -> None:
    log = WatchedLog()
    dispatcher = await send_all(log, [delivery("http://a..b/hook"), delivery(receiver.url)])
    assert dispatcher.counters["sent"] == 1 and len(receiver.requests) == 1
    [refused] = [e for e in log.entries if e.outcome != "delivered"]
    assert (refused.url, refused.status, refused.outcome) == ("http://a..b/hook", None, "failed")
    assert "UnicodeError" in refused.error, refused.error


async def test_the_dispatcher_keeps_its_connection_to_a_receiver(receiver: Receiver) -> None:
    limits = WebhookLimits(concurrency=1, private_networks=True)
    log = WatchedLog()
    dispatcher = WebhookDispatcher(limits, log)
    dispatcher.start()
    try:
        for number in range(1, 6):
            assert dispatcher.submit(delivery(receiver.url, message_id=f"m{number}"))
            await log.settled(number)
        assert dispatcher.counters["sent"] == 5 and dispatcher.connections_opened == 1
    finally:
        await dispatcher.stop(timeout=1.0)
