"""Validation at the edge, the event codec, key layout and small policies."""

from __future__ import annotations

import string

import hypothesis.strategies as st
import msgspec
import pytest
from hypothesis import given, settings

from ledger.config import LedgerConfig, PersisterConfig
from ledger.events import (
    EventKind,
    EventSchemaError,
    LedgerEvent,
    MessageEvent,
    MessageState,
    Position,
    decode_events,
    message_events_body,
)
from ledger.layout import LedgerKeys
from ledger.model import MAX_AMOUNT, MAX_PARTS, AcceptRequest, AccountLimits
from ledger.retry import Backoff
from ledger.scripts import lua_prelude

TOKEN = st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=64)


def test_config_reports_every_error_at_once() -> None:
    with pytest.raises(ValueError) as error:
        LedgerConfig(namespace="a b", buckets=0, max_batch=0)
    assert all(name in str(error.value) for name in ("namespace", "buckets", "max_batch"))
    with pytest.raises(ValueError, match="consumer"):
        PersisterConfig(consumer="")


def test_config_decodes_from_toml_shaped_data() -> None:
    config = msgspec.convert({"namespace": "prod", "buckets": 128}, LedgerConfig)
    assert (config.namespace, config.buckets, config.max_batch) == ("prod", 128, 512)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"bukets": 1}, LedgerConfig)


@pytest.mark.parametrize(
    "fields",
    [
        {"message_id": ""},
        {"message_id": "a b"},
        {"account": "a:b"},
        {"account": "{b1}"},
        {"parts": 0},
        {"parts": MAX_PARTS + 1},
        {"price": -1},
        {"price": MAX_AMOUNT},
        {"price": 1.5},
        {"payload": "text"},
        {"idempotency_key": ""},
        {"idempotency_key": "has space"},
    ],
)
def test_accept_request_rejects_bad_input(fields: dict[str, object]) -> None:
    valid: dict[str, object] = {"message_id": "m1", "account": "acme", "parts": 2, "price": 5}
    with pytest.raises(ValueError):
        AcceptRequest(**{**valid, **fields})  # type: ignore[arg-type]


def test_account_limits_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        AccountLimits(credit_limit=-1)
    with pytest.raises(ValueError):
        AccountLimits(quota_period="week")  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    message_id=TOKEN,
    account=TOKEN,
    state=st.sampled_from(MessageState),
    ts_ms=st.integers(0, 2**48),
    connector=st.one_of(st.just(""), TOKEN),
    operator_message_id=st.text(string.printable.strip(), max_size=65).filter(
        lambda s: " " not in s
    ),
    error_code=st.one_of(st.none(), st.integers(0, 2**31 - 1)),
    parts=st.integers(0, 255),
    bucket=st.integers(0, 16_383),
    ms=st.integers(0, 2**48),
    seq=st.integers(0, 2**32),
)
def test_message_events_survive_the_stream(
    message_id: str,
    account: str,
    state: MessageState,
    ts_ms: int,
    connector: str,
    operator_message_id: str,
    error_code: int | None,
    parts: int,
    bucket: int,
    ms: int,
    seq: int,
) -> None:
    event = MessageEvent(
        message_id=message_id,
        account=account,
        state=state,
        ts_ms=ts_ms,
        connector=connector,
        operator_message_id=operator_message_id,
        error_code=error_code,
        parts=parts,
    )
    wire = {b"kind": b"messages", b"body": message_events_body([event])}
    decoded = decode_events(bucket, f"{ms}-{seq}", wire)
    assert decoded == [msgspec.structs.replace(event, position=Position(bucket, ms, seq))]
    assert Position.parse(bucket, f"{ms}-{seq}").event_id == f"{bucket}-{ms}-{seq}"


def _event(message_id: str, state: MessageState, ts_ms: int) -> MessageEvent:
    return MessageEvent(message_id=message_id, account="acme", state=state, ts_ms=ts_ms, parts=1)


def test_a_packed_entry_gives_its_events_in_order_at_its_own_position() -> None:
    events = [
        _event("m1", MessageState.SUBMITTED, 5),
        _event("m2", MessageState.ACCEPTED, 6),
        _event("m1", MessageState.DELIVERED, 7),
    ]
    wire = {b"kind": b"messages", b"body": message_events_body(events)}
    decoded = decode_events(2, "9-4", wire)
    assert decoded == [msgspec.structs.replace(e, position=Position(2, 9, 4)) for e in events]


def test_an_entry_of_one_message_event_from_before_packing_still_decodes() -> None:
    """Streams written by an earlier version hold one `message` entry per event."""
    event = _event("m1", MessageState.SUBMITTED, 5)
    record = (5, "m1", "acme", "submitted", 1, "", "", None, "", "", "", 0)
    wire = {b"kind": b"message", b"body": msgspec.msgpack.encode(record)}
    assert decode_events(1, "3-0", wire) == [
        msgspec.structs.replace(event, position=Position(1, 3, 0))
    ]


def test_a_money_entry_of_one_event_from_before_packing_still_decodes() -> None:
    """Streams written by an earlier version hold one entry per money event."""
    body = msgspec.msgpack.encode([7, "acme", 40, 100, 40, "m1", 1, "", ""])
    [event] = decode_events(2, "8-3", {b"kind": b"hold", b"body": body})
    assert event == LedgerEvent(
        kind=EventKind.HOLD, account="acme", amount=40, balance=100, held=40, ts_ms=7,
        message_id="m1", parts=1, position=Position(2, 8, 3),
    )  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {b"kind": b"refund"},
        {b"kind": b"hold", b"account": b"a"},
        {b"kind": b"message"},
        {b"kind": b"messages"},
        {b"kind": b"messages", b"body": msgspec.msgpack.encode({"not": "a list"})},
        {b"kind": b"money", b"body": msgspec.msgpack.encode([[7, "acme", 40]])},
        {
            b"kind": b"money",  # a record of a kind that is not money
            b"body": msgspec.msgpack.encode([["message", 7, "acme", 40, 0, 40, "m1", 1, "", ""]]),
        },
    ],
)
def test_malformed_events_are_an_error_not_skipped(fields: dict[bytes, bytes]) -> None:
    with pytest.raises(EventSchemaError):
        decode_events(0, "1-0", fields)


def test_ledger_event_deltas_follow_the_kind() -> None:
    def delta(kind: EventKind) -> tuple[int, int]:
        event = LedgerEvent(kind=kind, account="a", amount=5, balance=0, held=0, ts_ms=0)
        return event.balance_delta, event.held_delta

    assert [delta(k) for k in (EventKind.HOLD, EventKind.CAPTURE, EventKind.RELEASE)] == [
        (0, 5),
        (-5, -5),
        (0, -5),
    ]
    assert delta(EventKind.ADJUST) == (5, 0)


@settings(max_examples=200, deadline=None)
@given(account=TOKEN, buckets=st.integers(1, 16_384))
def test_keys_of_an_account_share_one_stable_bucket(account: str, buckets: int) -> None:
    keys = LedgerKeys("smsgw", buckets)
    bucket = keys.bucket_of(account)
    assert 0 <= bucket < buckets
    assert bucket == LedgerKeys("smsgw", buckets).bucket_of(account)
    tag = f"smsgw:{{b{bucket}}}:"
    assert keys.account(account).startswith(tag) and keys.events(bucket).startswith(tag)


def test_buckets_are_crc32_so_every_process_agrees() -> None:
    check_value = 0xCBF43926  # CRC-32 (ISO-HDLC) of "123456789", the algorithm's check value
    assert LedgerKeys("smsgw", 64).bucket_of("123456789") == check_value % 64
    assert LedgerKeys("smsgw", 10_007).bucket_of("123456789") == check_value % 10_007


def test_the_lua_prelude_mirrors_the_python_names() -> None:
    prelude = lua_prelude()
    assert 'local AF = {enabled="enabled", balance="balance"' in prelude
    assert 'unknown_account="unknown_account"' in prelude
    assert f"local MAX_AMOUNT = {MAX_AMOUNT}" in prelude


@settings(max_examples=200, deadline=None)
@given(failures=st.integers(1, 1_000))
def test_backoff_grows_and_stays_capped(failures: int) -> None:
    backoff = Backoff(base=0.1, cap=5.0)
    ceiling = min(5.0, 0.1 * 2 ** (failures - 1))
    assert ceiling / 2 <= backoff.compute(failures) <= ceiling
