"""replace_sm (SMPP 3.4 §4.10): the rule first, then over real sockets on both backends.

smpplib (2.2) and aiosmpplib (0.7) cannot send replace_sm, so the customer
here is our own client; the operator is the simulated SMSC, which records
what reached it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import msgspec
import pytest
from redis.asyncio import Redis

from bench.smsc_sim_config import Delay
from engine.billing.pricing import NO_RATES, Pricer
from engine.gateway import Gateway
from engine.messages.intake import Refused, ValidityLimits, prepare_mt
from engine.messages.message import MtMessage, unpack_message
from engine.messages.replacing import replacement_of
from ledger.model import OutboxRef
from router import RoutingTable, load_data
from smpp import pdu as p
from smpp.aio import CommandFailed, SmppConnection
from smpp.constants import CommandStatus as S
from smpp.receipt import MessageState
from smpp.tlv import Tag
from tests.engine.gateway_harness import PRICE, Customer, account, routing, running_gateway
from tests.engine.peers import (
    SENDER,
    WAIT,
    RecordingSmsc,
    balance_and_held,
    gateway_with,
    receipt_ids,
    recording_operator,
    submit,
    until,
)

PRICER = Pricer(NO_RATES)
CREDIT = 100 * PRICE
LATER = "000000010000000R"
"""schedule_delivery_time one hour from now (a relative time)."""
NOW = "000000000000000R"
"""schedule_delivery_time now: a replacement may bring a message forward."""
WINDOW = 10
"""The harness connector's window: submit_sm in flight per operator bind."""
LONG = b"x" * 400
"""Three parts in GSM 03.38 (153 characters each once concatenated)."""

# -- the rule, without sockets ------------------------------------------------


def table(*routes: dict[str, object]) -> RoutingTable:
    config = routing(["op-0"])
    config["mt_routes"] = [*routes, *config["mt_routes"]]  # type: ignore[misc]
    return RoutingTable(load_data(config))


def accepted(request: p.SubmitSm, routes: RoutingTable, now: float) -> MtMessage:
    message = prepare_mt(request, account("bank"), routes, PRICER, "m1", now, ValidityLimits())
    assert isinstance(message, MtMessage)
    return message


def replace(**fields: object) -> p.ReplaceSm:
    fields.setdefault("source_addr", SENDER)
    return p.ReplaceSm(message_id="m1", **fields)  # type: ignore[arg-type]


def test_empty_times_keep_the_originals_and_the_rest_is_replaced() -> None:
    now = time.time()
    routes = table()
    original = accepted(
        submit(schedule_delivery_time=LATER, validity_period="000002000000000R"), routes, now
    )
    replaced = replacement_of(
        original,
        replace(short_message=b"New text", registered_delivery=1),
        account("bank"),
        routes,
        PRICER,
        ValidityLimits(),
        None,
        now + 5,
    )
    assert isinstance(replaced, MtMessage)
    assert (replaced.not_before, replaced.expires_at) == (original.not_before, original.expires_at)
    assert (replaced.user_data, replaced.registered_delivery) == (b"New text", 1)
    unchanged = (
        "id",
        "account",
        "destination_addr",
        "source_addr",
        "price_per_part",
        "accepted_at",
    )
    assert all(getattr(replaced, f) == getattr(original, f) for f in unchanged)


def test_new_times_count_from_the_replacement() -> None:
    now = time.time()
    routes = table()
    original = accepted(submit(schedule_delivery_time=LATER), routes, now)
    replaced = replacement_of(
        original,
        replace(
            short_message=b"New", schedule_delivery_time=NOW, validity_period="000000000100000R"
        ),
        account("bank"),
        routes,
        PRICER,
        ValidityLimits(),
        None,
        now + 5,
    )
    assert isinstance(replaced, MtMessage)
    assert replaced.not_before < now + 5.001  # due at once: 0, or the instant itself
    assert replaced.expires_at == pytest.approx(now + 65)


@pytest.mark.parametrize(
    ("request_fields", "status"),
    [
        ({"short_message": b"y" * 200}, S.ESME_RREPLACEFAIL),  # 2 parts, 1 held
        ({"tlvs": {Tag.MESSAGE_PAYLOAD: LONG}}, S.ESME_RREPLACEFAIL),  # 3 parts, 1 held
        ({"short_message": b"x", "source_addr": "Other"}, S.ESME_RREPLACEFAIL),
        ({"short_message": b"x", "sm_default_msg_id": 3}, S.ESME_RINVDFTMSGID),
        ({"short_message": b"Play casino now"}, S.ESME_RINVDSTADR),  # a content filter
        ({"short_message": b"x", "validity_period": "000000000000000R"}, S.ESME_RINVEXPIRY),
    ],
    ids=["more-parts", "more-parts-payload", "source", "canned", "content", "validity"],
)
def test_what_is_refused(request_fields: dict[str, object], status: int) -> None:
    now = time.time()
    no_casino = {
        "id": "no-casino",
        "filters": {"content": "(?i)casino"},
        "target": {"kind": "reject", "command_status": S.ESME_RINVDSTADR, "reason": "casino"},
    }
    routes = table(no_casino)
    original = accepted(submit(schedule_delivery_time=LATER), routes, now)
    refused = replacement_of(
        original,
        replace(**request_fields),
        account("bank"),
        routes,
        PRICER,
        ValidityLimits(),
        None,
        now,
    )
    assert isinstance(refused, Refused) and refused.status == status


def test_a_price_that_changed_since_acceptance_is_refused() -> None:
    now = time.time()
    routes = table()
    original = accepted(submit(schedule_delivery_time=LATER), routes, now)
    cheaper_then = msgspec.structs.replace(original, price_per_part=PRICE - 1)
    refused = replacement_of(
        cheaper_then,
        replace(short_message=b"x"),
        account("bank"),
        routes,
        PRICER,
        ValidityLimits(),
        None,
        now,
    )
    assert isinstance(refused, Refused) and refused.status == S.ESME_RREPLACEFAIL


# -- the gateway over sockets ----------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def operator() -> RecordingSmsc:
    return recording_operator()


@pytest.fixture
async def gateway(
    backend: str, operator: RecordingSmsc, redis_client: Redis, namespace: str
) -> AsyncIterator[Gateway]:
    async with gateway_with(backend, [operator], redis_client, namespace, credit=CREDIT) as running:
        yield running


async def scheduled(connection: SmppConnection, **fields: object) -> str:
    """Our id of a message accepted to wait an hour."""
    answer = await connection.call(submit(schedule_delivery_time=LATER, **fields))  # type: ignore[arg-type]
    return answer.message_id  # type: ignore[attr-defined,no-any-return]


async def refusal(connection: SmppConnection, request: p.Pdu) -> int:
    with pytest.raises(CommandFailed) as caught:
        await connection.call(request)
    return caught.value.status


async def next_receipt(customer: Customer) -> p.DeliverSm:
    receipt = await asyncio.wait_for(customer.delivered.get(), WAIT)
    assert isinstance(receipt, p.DeliverSm)
    return receipt


def due_now(message_id: str, text: bytes) -> p.ReplaceSm:
    """A replacement that also makes the message due now, asking for its receipt."""
    return p.ReplaceSm(
        message_id=message_id,
        source_addr=SENDER,
        schedule_delivery_time=NOW,
        registered_delivery=1,
        short_message=text,
    )


async def outbox_texts(gateway: Gateway) -> dict[str, bytes]:
    """What a restarted shard would send: the outbox, message by message."""
    return {
        entry.message_id: unpack_message(entry.payload).user_data
        async for entry in gateway.ledger.read_outbox()
    }


async def test_a_scheduled_message_goes_out_with_its_new_text(
    gateway: Gateway, operator: RecordingSmsc
) -> None:
    customer = Customer()
    connection = await customer.bind(gateway)
    message_id = await scheduled(connection, text=b"Old text")
    answer = await connection.call(
        p.ReplaceSm(message_id=message_id, source_addr=SENDER, short_message=b"New text")
    )
    assert answer.command_status == S.ESME_ROK
    assert await outbox_texts(gateway) == {message_id: b"New text"}
    query = await connection.call(p.QuerySm(message_id=message_id, source_addr=SENDER))
    assert query.message_state == MessageState.ENROUTE  # type: ignore[attr-defined]
    now = due_now(message_id, b"Newest text")
    assert (await connection.call(now)).command_status == S.ESME_ROK
    assert receipt_ids([await next_receipt(customer)]) == [message_id]
    assert [s.short_message for s in operator.submitted] == [b"Newest text"]
    assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE, 0)
    assert await outbox_texts(gateway) == {}
    await connection.unbind()


async def test_fewer_parts_are_served_and_only_those_sent_are_charged(
    gateway: Gateway, operator: RecordingSmsc
) -> None:
    customer = Customer()
    connection = await customer.bind(gateway)
    message_id = await scheduled(connection, text=b"", tlvs={Tag.MESSAGE_PAYLOAD: LONG})
    assert await balance_and_held(gateway, "bank") == (CREDIT, 3 * PRICE)
    shorter = due_now(message_id, b"Short now")
    assert (await connection.call(shorter)).command_status == S.ESME_ROK
    await next_receipt(customer)
    assert [s.short_message for s in operator.submitted] == [b"Short now"]
    assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE, 0)
    await connection.unbind()


async def test_what_cannot_be_replaced_is_refused_and_left_as_it_was(
    gateway: Gateway, operator: RecordingSmsc
) -> None:
    bank, shop = Customer(), Customer()
    connection = await bank.bind(gateway)
    other = await shop.bind(gateway, "shop")
    waiting = await scheduled(connection, text=b"Old text")
    sent = (await connection.call(submit(text=b"Sent", registered_delivery=1))).message_id  # type: ignore[attr-defined]
    await next_receipt(bank)  # the operator has it

    def replacing(message_id: str, **fields: object) -> p.ReplaceSm:
        fields.setdefault("source_addr", SENDER)
        fields.setdefault("short_message", b"New text")
        return p.ReplaceSm(message_id=message_id, **fields)  # type: ignore[arg-type]

    assert await refusal(connection, replacing(sent)) == S.ESME_RREPLACEFAIL
    assert await refusal(connection, replacing("ffffffff")) == S.ESME_RREPLACEFAIL
    assert await refusal(other, replacing(waiting)) == S.ESME_RREPLACEFAIL
    assert await refusal(connection, replacing(waiting, source_addr="Other")) == (
        S.ESME_RREPLACEFAIL
    )
    assert await refusal(connection, replacing(waiting, short_message=b"y" * 200)) == (
        S.ESME_RREPLACEFAIL  # two parts where one was held
    )
    assert await refusal(connection, replacing(waiting, sm_default_msg_id=1)) == (
        S.ESME_RINVDFTMSGID
    )
    assert await outbox_texts(gateway) == {waiting: b"Old text"}
    assert [s.short_message for s in operator.submitted] == [b"Sent"]
    assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE, PRICE)
    assert (await connection.call(p.CancelSm(message_id=waiting))).command_status == S.ESME_ROK
    assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE, 0)
    assert await balance_and_held(gateway, "shop") == (CREDIT, 0)
    await connection.unbind()
    await other.unbind()


async def test_a_queued_message_is_replaced_unless_a_connector_began_it(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    """A full window holds the rest in the queue: those are replaceable. Once
    the operator goes away, those that were on the wire are queued again, but
    may have reached it: they are not."""
    slow = recording_operator(response_latency=Delay(fixed_ms=500))
    async with gateway_with(backend, [slow], redis_client, namespace, credit=CREDIT) as gateway:
        connection = await Customer().bind(gateway)
        answers = [await connection.call(submit(text=f"Payment {n}".encode())) for n in range(15)]
        ids = [a.message_id for a in answers]  # type: ignore[attr-defined]
        await slow.wait_until(lambda: len(slow.submitted) >= WINDOW)
        await slow.stop()
        await until(lambda: len(gateway.schedulers["op-0"]) == len(ids))
        began, queued = ids[0], ids[-1]
        replacing = {"source_addr": SENDER, "short_message": b"Payment cancelled"}
        assert await refusal(connection, p.ReplaceSm(message_id=began, **replacing)) == (  # type: ignore[arg-type]
            S.ESME_RREPLACEFAIL
        )
        answer = await connection.call(p.ReplaceSm(message_id=queued, **replacing))  # type: ignore[arg-type]
        assert answer.command_status == S.ESME_ROK
        texts = await outbox_texts(gateway)
        assert (texts[began], texts[queued]) == (b"Payment 0", b"Payment cancelled")
        assert len(gateway.schedulers["op-0"]) == len(ids)
        assert await balance_and_held(gateway, "bank") == (CREDIT, PRICE * len(ids))
        await connection.unbind()


@pytest.mark.parametrize("written", [True, False], ids=["answer-lost", "not-written"])
async def test_when_the_ledger_does_not_answer_the_outbox_decides(
    gateway: Gateway, operator: RecordingSmsc, monkeypatch: pytest.MonkeyPatch, written: bool
) -> None:
    """ESME_RSYSERR says the outcome is unknown; the content that waits (and
    goes out) is whichever the outbox holds, never the other."""
    real = gateway.ledger.replace_outbox

    async def unanswered(ref: OutboxRef, payload: bytes, shard: str | None = None) -> str | None:
        if written:
            await real(ref, payload, shard)
        raise ConnectionError("Redis went away")

    customer = Customer()
    connection = await customer.bind(gateway)
    message_id = await scheduled(connection, text=b"Old text", registered_delivery=1)
    monkeypatch.setattr(gateway.ledger, "replace_outbox", unanswered)
    soon = due_now(message_id, b"New text")
    assert await refusal(connection, soon) == S.ESME_RSYSERR
    if written:
        await next_receipt(customer)
        assert [s.short_message for s in operator.submitted] == [b"New text"]
        assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE, 0)
    else:
        await gateway.pipeline.drain()
        assert await outbox_texts(gateway) == {message_id: b"Old text"}
        cancel = p.CancelSm(message_id=message_id)
        assert (await connection.call(cancel)).command_status == S.ESME_ROK
        assert await balance_and_held(gateway, "bank") == (CREDIT, 0)
    assert await outbox_texts(gateway) == {}
    await connection.unbind()


async def test_a_restarted_shard_sends_the_replaced_text(
    redis_client: Redis, namespace: str
) -> None:
    """The replacement is queued on a connector whose operator is gone; the
    shard stops, and the next one (same shard, same Redis) sends what the
    outbox holds."""
    gone = recording_operator()
    async with gateway_with("redis", [gone], redis_client, namespace, credit=CREDIT) as first:
        connection = await Customer().bind(first)
        message_id = await scheduled(connection, text=b"Old text", registered_delivery=1)
        await gone.stop()
        soon = due_now(message_id, b"New text")
        assert (await connection.call(soon)).command_status == S.ESME_ROK
        await connection.unbind()
    back = recording_operator()
    async with running_gateway("redis", [back], redis_client, namespace, CREDIT) as second:
        await back.wait_until(lambda: bool(back.submitted))
        assert [s.short_message for s in back.submitted] == [b"New text"]
        await until(lambda: second.pipeline.counters["submitted"] == 1)
        assert await balance_and_held(second, "bank") == (CREDIT - PRICE, 0)
    assert gone.submitted == []
