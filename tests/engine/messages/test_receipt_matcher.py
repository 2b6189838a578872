"""Operator receipts matched to our parts whatever the operator's id convention,
answered only once committed, and unknown ones counted, kept and given up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from redis.asyncio import Redis

from engine.loop.batching import BackgroundTasks
from engine.messages import receipt_matcher
from engine.messages.receipt_map import MemoryReceiptMap, RedisReceiptMap, SubmittedPart
from engine.messages.receipt_matcher import (
    MatchedReceipt,
    ReceiptIdRules,
    ReceiptLimits,
    ReceiptMatcher,
)
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.receipt import MessageState
from smpp.tlv import Tag

HANDSET = "33612345678"


def part(message_id: str = "m1", destination: str = HANDSET) -> SubmittedPart:
    return SubmittedPart(message_id, "acme", 1, "BANK", destination, 1_700_000_000.0)


def deliver(text: str = "", *, source: str = HANDSET, **tlvs: object) -> p.DeliverSm:
    tags = {getattr(Tag, name.upper()): value for name, value in tlvs.items()}
    return p.DeliverSm(source_addr=source, esm_class=0x04, short_message=text.encode(), tlvs=tags)


class Harness:
    def __init__(self, rules: ReceiptIdRules | None = None, **limits: float) -> None:
        self.applied: list[MatchedReceipt] = []
        self.answers: list[int] = []
        self.commit = asyncio.Event()
        self.commit.set()
        self.fail = False
        self.tasks = BackgroundTasks()
        self.matcher = ReceiptMatcher(
            MemoryReceiptMap(ttl=600),
            self.tasks,
            self.apply,
            {"op": rules} if rules else None,
            ReceiptLimits(**limits),  # type: ignore[arg-type]
        )

    async def apply(self, batch: list[MatchedReceipt]) -> None:
        await self.commit.wait()
        if self.fail:
            raise ConnectionError("redis down")
        self.applied.extend(batch)

    def receive(self, request: p.DeliverSm | p.DataSm) -> None:
        self.matcher.receipt("op", request, self.answers.append)

    async def settle(self) -> None:
        for _ in range(3):
            await asyncio.sleep(0)
            await self.tasks.drain()

    def matched(self) -> list[tuple[str, MessageState]]:
        return [(part.message_id, outcome.state) for _, outcome, part in self.applied]


async def test_a_receipt_is_answered_only_once_its_effect_is_committed() -> None:
    harness = Harness()
    harness.matcher.expect("op", ["ABC"], part())
    harness.commit.clear()
    harness.receive(deliver(receipted_message_id="ABC", message_state=2))
    await asyncio.sleep(0.01)
    assert harness.answers == []
    harness.commit.set()
    await harness.settle()
    assert harness.answers == [S.ESME_ROK]
    assert harness.matched() == [("m1", MessageState.DELIVERED)]
    assert harness.matcher.counts[("op", "matched")] == 1


async def test_a_receipt_not_committed_asks_the_operator_to_resend() -> None:
    harness = Harness()
    harness.matcher.expect("op", ["ABC"], part())
    harness.fail = True
    harness.receive(deliver(receipted_message_id="ABC", message_state=2))
    await harness.settle()
    assert harness.answers == [S.ESME_RX_T_APPN]


@pytest.mark.parametrize(
    ("resp_id", "receipt_id", "relation"),
    [
        ("00A1B2", "a1b2", "auto"),  # case and leading zeros
        ("1A2F3C", "1716028", "auto"),  # hex resp, decimal receipt
        ("0001716028", "1A2F3C", "auto"),  # decimal resp, hex receipt
        ("1A2F3C", "1716028", "resp_hex_receipt_decimal"),
        ("1716028", "1a2f3c", "resp_decimal_receipt_hex"),
        ("Id-7", "Id-7", "exact"),
    ],
)
async def test_ids_match_in_every_convention(resp_id: str, receipt_id: str, relation: str) -> None:
    harness = Harness(ReceiptIdRules(relation))  # type: ignore[arg-type]
    await harness.matcher.store([])
    harness.matcher.expect("op", [resp_id], part())
    await harness.matcher.store([("op", [resp_id])])  # stored, then kept as recent
    harness.receive(deliver(f"id:{receipt_id} stat:UNDELIV err:012"))
    await harness.settle()
    assert harness.matched() == [("m1", MessageState.UNDELIVERABLE)]
    assert harness.answers == [S.ESME_ROK]


async def test_a_data_sm_receipt_reads_its_text_from_message_payload() -> None:
    harness = Harness()
    harness.matcher.expect("op", ["77"], part())
    harness.matcher.receipt(
        "op",
        p.DataSm(
            source_addr=HANDSET,
            esm_class=0x04,
            tlvs={Tag.MESSAGE_PAYLOAD: b"id:77 sub:001 dlvrd:001 stat:DELIVRD err:000"},
        ),
        harness.answers.append,
    )
    await harness.settle()
    assert harness.matched() == [("m1", MessageState.DELIVERED)]


async def test_which_id_wins_when_tlv_and_text_disagree() -> None:
    for source, winner in (("tlv", "m-tlv"), ("text", "m-text")):
        harness = Harness(ReceiptIdRules("auto", source))  # type: ignore[arg-type]
        harness.matcher.expect("op", ["111"], part("m-tlv"))
        harness.matcher.expect("op", ["222"], part("m-text"))
        harness.receive(deliver("id:222 stat:DELIVRD", receipted_message_id="111"))
        await harness.settle()
        assert harness.matched() == [(winner, MessageState.DELIVERED)]


async def test_the_losing_id_is_tried_when_the_winner_matches_nothing() -> None:
    harness = Harness()
    harness.matcher.expect("op", ["222"], part())
    harness.receive(deliver("id:222 stat:DELIVRD", receipted_message_id="999"))
    await harness.settle()
    assert harness.matched() == [("m1", MessageState.DELIVERED)]


async def test_an_id_read_in_another_base_must_be_for_the_same_handset() -> None:
    harness = Harness()
    harness.matcher.expect("op", ["a"], part(destination="33699999999"))
    harness.receive(deliver("id:10 stat:DELIVRD"))  # "10" decimal is "a" hex
    await harness.settle()
    assert harness.matched() == []
    assert harness.answers == [S.ESME_ROK]  # unknown, answered, kept


async def test_a_receipt_before_its_submit_sm_resp_is_matched_late() -> None:
    harness = Harness()
    harness.receive(deliver(receipted_message_id="LATE", message_state=2))
    await harness.settle()
    assert harness.answers == [S.ESME_ROK] and harness.matched() == []
    harness.matcher.expect("op", ["late"], part())
    await harness.settle()
    assert harness.matched() == [("m1", MessageState.DELIVERED)]
    assert harness.matcher.counts[("op", "late")] == 1


async def test_unknown_receipts_are_counted_once_given_up() -> None:
    harness = Harness(keep_unknown=0.0)
    for n in range(50):
        harness.receive(deliver(receipted_message_id=f"nobody{n}", message_state=2))
    await harness.settle()
    assert harness.answers == [S.ESME_ROK] * 50
    assert harness.matcher.counts[("op", "unknown")] == 50
    assert harness.matcher.unknown.total == 50


async def test_the_oldest_unknown_receipt_is_given_up_past_the_limit() -> None:
    harness = Harness(max_unknown=2)
    for n in range(3):
        harness.receive(deliver(receipted_message_id=f"n{n}", message_state=2))
    await harness.settle()
    assert harness.matcher.counts[("op", "unknown")] == 1
    harness.matcher.expect("op", ["n0", "n1", "n2"], part())
    await harness.settle()
    assert len(harness.applied) == 2


@pytest.mark.parametrize(
    "request_",
    [
        deliver("no receipt here"),
        deliver("", receipted_message_id="x" * 200, message_state=2),
        deliver("id:abc\x01def stat:DELIVRD"),
        deliver("id: sub:001 stat:DELIVRD done date:9913999999"),
    ],
)
async def test_malformed_receipts_are_answered_and_counted(request_: p.DeliverSm) -> None:
    harness = Harness()
    harness.receive(request_)
    await harness.settle()
    assert harness.answers == [S.ESME_ROK]
    assert harness.matcher.counts[("op", "malformed")] == 1


async def test_bad_dates_and_unknown_states_still_match() -> None:
    harness = Harness()
    harness.matcher.expect("op", ["5"], part())
    harness.receive(deliver("id:5 submit date:2613999999 stat:WHATEVER", message_state=77))
    await harness.settle()
    assert harness.matched() == [("m1", MessageState.UNKNOWN)]


async def test_any_shard_finds_a_correlation_in_redis_by_its_normalised_key(
    redis_client: Redis, namespace: str
) -> None:
    tasks = BackgroundTasks()
    applied: list[MatchedReceipt] = []

    async def apply(batch: list[MatchedReceipt]) -> None:
        applied.extend(batch)

    writer = ReceiptMatcher(RedisReceiptMap(redis_client, namespace, 600), tasks, apply)
    writer.expect("op", ["00FF"], part())
    await writer.store([("op", ["00FF"])])
    reader = ReceiptMatcher(RedisReceiptMap(redis_client, namespace, 600), tasks, apply)
    reader.receipt("op", deliver("id:255 stat:DELIVRD"), lambda status: None)
    await asyncio.sleep(0)
    await tasks.drain()
    assert [part.message_id for _, _, part in applied] == ["m1"]


async def test_the_text_id_is_read_when_a_delivered_tlv_id_matches_nothing() -> None:
    harness = Harness()
    harness.matcher.expect("op", ["222"], part())
    harness.receive(deliver("id:222 stat:DELIVRD", receipted_message_id="999", message_state=2))
    await harness.settle()
    assert harness.matched() == [("m1", MessageState.DELIVERED)]


async def test_a_final_receipt_forgets_its_correlation_an_intermediate_one_keeps_it() -> None:
    harness = Harness(keep_unknown=0.0)
    harness.matcher.expect("op", ["A1", "A2"], part())
    await harness.matcher.store([("op", ["A1", "A2"])])
    harness.receive(deliver(receipted_message_id="A1", message_state=MessageState.ENROUTE))
    harness.receive(deliver(receipted_message_id="A2", message_state=MessageState.DELIVERED))
    await harness.settle()
    found = await harness.matcher.receipts.get_many([("op", "a1"), ("op", "a2")])
    assert [None if p is None else p.message_id for p in found] == ["m1", None]
    harness.receive(deliver(receipted_message_id="A2", message_state=MessageState.DELIVERED))
    harness.receive(deliver(receipted_message_id="A1", message_state=MessageState.UNDELIVERABLE))
    await harness.settle()
    assert harness.answers == [S.ESME_ROK] * 4
    assert harness.matched() == [
        ("m1", MessageState.ENROUTE),
        ("m1", MessageState.DELIVERED),
        ("m1", MessageState.UNDELIVERABLE),
    ]
    assert harness.matcher.counts[("op", "unknown")] == 1  # the repeat, answered OK


async def test_a_receipt_matched_on_another_shard_forgets_the_correlation_in_redis(
    redis_client: Redis, namespace: str
) -> None:
    tasks = BackgroundTasks()
    applied: list[MatchedReceipt] = []

    async def apply(batch: list[MatchedReceipt]) -> None:
        applied.extend(batch)

    writer = ReceiptMatcher(RedisReceiptMap(redis_client, namespace, 600), tasks, apply)
    writer.expect("op", ["00FF", "0100"], part())
    await writer.store([("op", ["00FF", "0100"])])
    reader = ReceiptMatcher(RedisReceiptMap(redis_client, namespace, 600), tasks, apply)
    reader.receipt("op", deliver("id:255 stat:DELIVRD"), lambda status: None)
    await asyncio.sleep(0)
    await tasks.drain()
    assert [part.message_id for _, _, part in applied] == ["m1"]
    keys = [key async for key in redis_client.scan_iter(match=f"{namespace}:*")]
    assert len(keys) == 1  # the other part's, still waiting for its receipt


class RemoteMap(MemoryReceiptMap):
    """A receipt map the matcher keeps a copy of, counting its lookups."""

    remote = True

    def __init__(self) -> None:
        super().__init__(ttl=600)
        self.lookups = 0

    async def get_many(self, keys: Sequence[tuple[str, str]]) -> list[SubmittedPart | None]:
        self.lookups += 1
        return await super().get_many(keys)


async def test_recent_correlations_are_matched_in_memory_and_the_copy_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(receipt_matcher, "RECENT_PARTS", 4)
    harness = Harness()
    remote = RemoteMap()
    harness.matcher.receipts = remote
    for n in range(7):
        harness.matcher.expect("op", [f"a{n}"], part(f"m{n}"))
        await harness.matcher.store([("op", [f"a{n}"])])
    for n in (6, 5, 4):  # the latest, in the copy's newer half and in its older one
        harness.receive(deliver(receipted_message_id=f"a{n}", message_state=2))
    await harness.settle()
    assert remote.lookups == 0
    harness.receive(deliver(receipted_message_id="a0", message_state=2))  # dropped from the copy
    await harness.settle()
    assert remote.lookups == 1
    assert [message_id for message_id, _ in harness.matched()] == ["m6", "m5", "m4", "m0"]
