"""Receipts from operators matched to the parts we submitted.

A connector's submit_sm_resp names the operator's ids; a receipt that follows
names only one of them, in the operator's own convention (`receipt_ids`). The
matcher keeps, per (connector, stored key), what the receipt will need: in
memory from the moment the operator answered (`expect`), because a receipt may
beat its correlation to Redis, then in the receipt map every shard reads
(`store`, batched with the settlement), and the latest of them in memory as
well. Receipts are looked up in memory, then in batches: one lookup call for
every receipt's likeliest key, one more for the other keys of those not found.

A matched receipt is answered only once its effect is committed (`Apply`), so
the operator sends again what a crash lost. One that matches nothing is
answered at once (the operator cannot wait) and kept for a while: its
submit_sm_resp may be late, or another shard may still be writing its
correlation; it is looked up again with growing delays, and matched at once
if this shard expects it meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence

import msgspec
import structlog

from engine.loop.batching import BackgroundTasks, TickBatcher
from engine.loop.repeated import RepeatedWarning
from engine.messages.receipt_ids import (
    ReceiptIdRelation,
    ReceiptIdSource,
    first_key,
    is_valid_id,
    lookup_keys,
    same_handset,
    stored_key,
)
from engine.messages.receipt_map import ReceiptMap, SubmittedPart
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.receipt import (
    FINAL_STATES,
    MessageState,
    ReceiptOutcome,
    parse_receipt,
    state_from_stat,
)
from smpp.tlv import Tag

log = structlog.get_logger("smsgw.receipts")

_RETRIES = (0.5, 2.0, 8.0, 30.0)
"""Seconds before looking an unmatched receipt up again; the last repeats
until the receipt has been kept for `ReceiptRules.keep_unknown`."""

RECENT_PARTS = 100_000
"""Stored correlations kept in memory too (a few hundred bytes each), about
as many at most: five to ten seconds of receipts at 10,000/s are answered
without a lookup in Redis."""

Answer = Callable[[int], None]
"""Answers the operator's deliver_sm or data_sm with a command_status."""

MatchedReceipt = tuple[str, ReceiptOutcome, SubmittedPart]
"""connector, what the receipt says, the part it is for."""

Apply = Callable[[list[MatchedReceipt]], Awaitable[None]]
"""Records a batch of matched receipts; returns once their effect is committed."""


class ReceiptIdRules(msgspec.Struct, frozen=True):
    """A connector's receipt id convention (`engine.messages.receipt_ids`)."""

    relation: ReceiptIdRelation = "auto"
    source: ReceiptIdSource = "tlv"


class ReceiptLimits(msgspec.Struct, frozen=True):
    keep_unknown: float = 300.0
    """Seconds a receipt that matches nothing is kept and looked up again."""
    max_unknown: int = 100_000
    """Unmatched receipts kept at once; past it the oldest is given up."""


_DEFAULT_RULES = ReceiptIdRules()

# Read once: an enum's attribute costs 0.1 us to read, and a receipt read five.
_RECEIPTED_MESSAGE_ID = Tag.RECEIPTED_MESSAGE_ID
_MESSAGE_STATE = Tag.MESSAGE_STATE
_MESSAGE_PAYLOAD = Tag.MESSAGE_PAYLOAD
_DELIVERED = MessageState.DELIVERED
_UNKNOWN = MessageState.UNKNOWN
_OK = S.ESME_ROK


class _Incoming:
    """One receipt on its way to a match, and its answer while unanswered."""

    __slots__ = (
        "answer",
        "attempt",
        "connector",
        "expanded",
        "first_seen",
        "found",
        "handset",
        "keys",
        "other",
        "outcome",
        "unread_text",
    )

    def __init__(
        self,
        connector: str,
        outcome: ReceiptOutcome,
        first_key: str,
        handset: str,
        answer: Answer | None,
        first_seen: float,
        other: str | None = None,
        unread_text: bytes = b"",
    ) -> None:
        self.connector = connector
        self.outcome = outcome
        self.keys = (first_key,)
        """Lookup keys; only the first may match without the handset check.
        The others are worked out only if it matches nothing (`expanded`)."""
        self.expanded = False
        self.other = other
        """The id that lost to ``outcome.message_id`` (TLV or text), if any."""
        self.handset = handset
        self.answer = answer
        self.first_seen = first_seen
        self.attempt = 0
        self.found = first_key
        """The key its part was found under, forgotten once a final receipt is applied."""
        self.unread_text = unread_text
        """The text of a receipt matched by its TLVs alone: its ``id:`` is read
        only if the TLV's id matches nothing."""

    def answered(self, status: int) -> None:
        answer, self.answer = self.answer, None
        if answer is not None:
            answer(status)


class ReceiptMatcher:
    def __init__(
        self,
        receipts: ReceiptMap,
        tasks: BackgroundTasks,
        apply: Apply,
        rules: Mapping[str, ReceiptIdRules] | None = None,
        limits: ReceiptLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.receipts = receipts
        self._apply = apply
        self._rules = rules or {}
        self.limits = limits or ReceiptLimits()
        self._clock = clock
        self._unsaved: dict[tuple[str, str], SubmittedPart] = {}
        """Correlations on their way to the receipt map: a receipt may beat them."""
        self._recent: dict[tuple[str, str], SubmittedPart] = {}
        """Correlations stored lately, up to half of `RECENT_PARTS`: most
        receipts come back to the shard that submitted, and find their part
        here (or in `_older`) without a round trip to the receipt map."""
        self._older: dict[tuple[str, str], SubmittedPart] = {}
        """The previous `_recent`, dropped whole when the next one is full:
        dropping a dict's oldest key one at a time scans the holes the
        earlier ones left (64 us a stored part once full)."""
        self._orphans: dict[tuple[str, str], _Incoming] = {}
        """Unmatched receipts kept, under each of their keys."""
        self._kept: dict[_Incoming, None] = {}
        """The same receipts once each, oldest first."""
        self._incoming: TickBatcher[_Incoming] = TickBatcher(self._match, tasks)
        self.counts: Counter[tuple[str, str]] = Counter()
        """(connector, outcome) -> receipts: matched, late, unknown, malformed."""
        self.unknown = RepeatedWarning(
            log, "receipts for unknown messages given up", by="connectors"
        )
        self.malformed = RepeatedWarning(
            log, "malformed receipts answered and dropped", by="connectors"
        )

    def _relation(self, connector: str) -> ReceiptIdRelation:
        return self._rules.get(connector, _DEFAULT_RULES).relation

    # -- correlations --------------------------------------------------------

    def expect(self, connector: str, operator_ids: Sequence[str], part: SubmittedPart) -> None:
        """A receipt may come for each of ``operator_ids``; the last id's
        speaks for the message, an earlier one's only when it is a failure."""
        relation = self._relation(connector)
        last = len(operator_ids) - 1
        earlier = msgspec.structs.replace(part, last=False) if last > 0 else part
        for index, operator_id in enumerate(operator_ids):
            key = (connector, stored_key(operator_id, relation))
            self._unsaved[key] = part if index == last else earlier
            if self._orphans:
                orphan = self._orphans.get(key)
                if orphan is not None:
                    self._forget(orphan)
                    self._incoming.add(orphan)

    async def store(self, submitted: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Write the expected correlations of (connector, operator ids) pairs
        to the receipt map, one call per connector."""
        by_connector: dict[str, list[tuple[str, SubmittedPart]]] = {}
        for connector, operator_ids in submitted:
            relation = self._relation(connector)
            for operator_id in operator_ids:
                key = stored_key(operator_id, relation)
                part = self._unsaved.get((connector, key))
                if part is not None:
                    by_connector.setdefault(connector, []).append((key, part))
        await asyncio.gather(
            *(self.receipts.put_many(c, entries) for c, entries in by_connector.items())
        )
        # Kept until stored: a receipt arriving meanwhile still finds them, and
        # a retry after a failure stores them again.
        recent = self._recent
        kept = self.receipts.remote  # a map in memory is its own copy
        for connector, entries in by_connector.items():
            for key, part in entries:
                self._unsaved.pop((connector, key), None)
                if kept:
                    recent[(connector, key)] = part
        if len(recent) >= RECENT_PARTS // 2:
            self._older, self._recent = recent, {}

    # -- receipts ------------------------------------------------------------

    def receipt(self, connector: str, request: p.DeliverSm | p.DataSm, answer: Answer) -> None:
        """A delivery receipt (esm_class says so) to match in this iteration's batch."""
        rules = self._rules.get(connector, _DEFAULT_RULES)
        tlvs = request.tlvs
        tlv_id = tlvs.get(_RECEIPTED_MESSAGE_ID)
        tlv_state = tlvs.get(_MESSAGE_STATE)
        if not isinstance(tlv_id, str) or not tlv_id:
            tlv_id = None
        text = _text_of(request)
        unread_text = b""
        if rules.source == "tlv" and tlv_id is not None and tlv_state == _DELIVERED:
            # The common case needs nothing from the text (no error to report).
            outcome = ReceiptOutcome(tlv_id, _DELIVERED, None)
            other = None
            unread_text = text
        else:
            parsed = parse_receipt(text)
            text_id = parsed.id if parsed is not None else None
            first, other = (tlv_id, text_id) if rules.source == "tlv" else (text_id, tlv_id)
            if first is None:
                first, other = other, None
            if first is None or not is_valid_id(first):
                self._malformed(connector, "no usable id", answer, first)
                return
            state = _state_of(tlv_state)
            if state is None and parsed is not None and parsed.stat is not None:
                state = state_from_stat(parsed.stat)
            outcome = ReceiptOutcome(first, state or _UNKNOWN, parsed)
        message_id = outcome.message_id
        if not is_valid_id(message_id):
            self._malformed(connector, "no usable id", answer, message_id)
            return
        if other is not None and (other == message_id or not is_valid_id(other)):
            other = None
        key = first_key(message_id, rules.relation)
        self._incoming.add(
            _Incoming(
                connector,
                outcome,
                key,
                request.source_addr,
                answer,
                self._clock(),
                other,
                unread_text,
            )
        )

    def _malformed(self, connector: str, reason: str, answer: Answer, sample: str | None) -> None:
        """Answered OK: the operator would only send it again, forever."""
        answer(_OK)
        self.counts[(connector, "malformed")] += 1
        self.malformed.add(connector, reason=reason, id=(sample or "")[:80])

    async def _match(self, batch: list[_Incoming]) -> None:
        """Match receipts to our parts and hand the matches on; one lookup call
        for every first key, one for the other keys of those still unmatched."""
        parts: list[SubmittedPart | None] = [None] * len(batch)
        await self._lookup(batch, parts, first=True)
        unmatched = None in parts
        if unmatched:
            for item, part in zip(batch, parts, strict=True):
                if part is None and not item.expanded:
                    self._expand(item)
            if any(p is None and len(i.keys) > 1 for i, p in zip(batch, parts, strict=True)):
                await self._lookup(batch, parts, first=False)
        matched = [
            (item, part) for item, part in zip(batch, parts, strict=True) if part is not None
        ]
        if matched:
            await self._apply_matched(matched)
        if unmatched:
            for item, part in zip(batch, parts, strict=True):
                if part is None:
                    self._unmatched(item)

    def _expand(self, item: _Incoming) -> None:
        """Every key of a receipt whose first matched nothing: its id's other
        forms, then the losing id's, then (read only now) the text's ``id:``."""
        item.expanded = True
        relation = self._relation(item.connector)
        ids = [item.outcome.message_id]
        if item.other is not None:
            ids.append(item.other)
        if item.unread_text:
            parsed = parse_receipt(item.unread_text)
            item.unread_text = b""
            if parsed is not None and parsed.id is not None and is_valid_id(parsed.id):
                ids.append(parsed.id)
        keys = list(item.keys)
        for receipt_id in ids:
            keys += (k for k in lookup_keys(receipt_id, relation) if k not in keys)
        item.keys = tuple(keys)

    async def _lookup(
        self, batch: list[_Incoming], parts: list[SubmittedPart | None], *, first: bool
    ) -> None:
        """Fill ``parts`` from memory, then from the receipt map in one call."""
        wanted: list[tuple[int, str]] = []
        unsaved, recent, older = self._unsaved, self._recent, self._older
        for index, item in enumerate(batch):
            if parts[index] is not None:
                continue
            for key in item.keys[:1] if first else item.keys[1:]:
                pair = (item.connector, key)
                part = unsaved.get(pair) or recent.get(pair) or older.get(pair)
                if part is not None and (first or _same_handset(item, part)):
                    parts[index] = part
                    item.found = key
                    break
                wanted.append((index, key))
        if not wanted:
            return
        found = await self.receipts.get_many([(batch[i].connector, key) for i, key in wanted])
        for (index, key), part in zip(wanted, found, strict=True):
            if part is None or parts[index] is not None:
                continue
            if first or _same_handset(batch[index], part):
                parts[index] = part
                batch[index].found = key

    async def _apply_matched(self, matched: list[tuple[_Incoming, SubmittedPart]]) -> None:
        try:
            await self._apply([(i.connector, i.outcome, part) for i, part in matched])
        except Exception:
            # The operator sends them again; recording a receipt twice is harmless.
            log.exception("receipts not committed, operator asked to resend", count=len(matched))
            for item, _ in matched:
                if item.answer is None:
                    self._unmatched(item)  # answered already: ours to try again
                item.answered(S.ESME_RX_T_APPN)
            return
        counts = self.counts
        final: list[_Incoming] = []
        for item, _ in matched:
            if item.attempt:
                self._forget(item)
            counts[(item.connector, "late" if item.attempt else "matched")] += 1
            item.answered(_OK)
            if item.outcome.state in FINAL_STATES:
                final.append(item)
        await self._forget_parts(final)

    async def _forget_parts(self, final: list[_Incoming]) -> None:
        """Parts whose final receipt is applied need no correlation any more: a
        repeat of that receipt is then answered OK and counted unknown. On
        failure they are left to expire after the receipt map's TTL."""
        keys = [(item.connector, item.found) for item in final]
        for key in keys:
            self._recent.pop(key, None)
            self._older.pop(key, None)
            self._unsaved.pop(key, None)  # a receipt that beat its correlation: never stored
        try:
            await self.receipts.forget_many(keys)
        except Exception:
            log.warning("correlations not forgotten, left to expire", count=len(keys))

    def _unmatched(self, item: _Incoming) -> None:
        item.answered(_OK)
        now = self._clock()
        if now - item.first_seen >= self.limits.keep_unknown:
            self._give_up(item)
            return
        if item not in self._kept:
            self._keep(item)
        delay = _RETRIES[min(item.attempt, len(_RETRIES) - 1)]
        item.attempt += 1
        asyncio.get_running_loop().call_later(delay, self._again, item)

    def _keep(self, item: _Incoming) -> None:
        if len(self._kept) >= self.limits.max_unknown:
            self._give_up(next(iter(self._kept)))
        self._kept[item] = None
        for key in item.keys:
            self._orphans.setdefault((item.connector, key), item)

    def _again(self, item: _Incoming) -> None:
        """Looked up again unless given up or matched by `expect` meanwhile."""
        if item in self._kept:
            self._incoming.add(item)

    def _forget(self, item: _Incoming) -> None:
        self._kept.pop(item, None)
        for key in item.keys:
            if self._orphans.get((item.connector, key)) is item:
                del self._orphans[(item.connector, key)]

    def _give_up(self, item: _Incoming) -> None:
        self._forget(item)
        self.counts[(item.connector, "unknown")] += 1
        self.unknown.add(item.connector, id=item.outcome.message_id)


def _same_handset(item: _Incoming, part: SubmittedPart) -> bool:
    return same_handset(item.handset, part.destination_addr)


def _text_of(request: p.DeliverSm | p.DataSm) -> bytes:
    """Where a receipt's Appendix B text is: short_message, or a data_sm's
    (or a long deliver_sm's) message_payload."""
    text = request.short_message if isinstance(request, p.DeliverSm) else b""
    if not text:
        payload = request.tlvs.get(_MESSAGE_PAYLOAD)
        text = payload if isinstance(payload, bytes) else b""
    return text


def _state_of(value: object) -> MessageState | None:
    if not isinstance(value, int):
        return None
    try:
        return MessageState(value)
    except ValueError:
        return None
