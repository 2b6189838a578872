"""The schema of the bucket event streams `{bN}:events`, shared by Lua and the persister.

The Lua scripts get these field names and kinds from a generated prelude
(`ledger.scripts`), so the writer and the reader cannot drift apart. An event's
id is its bucket and stream entry id (`17-1712345678901-0`): unique, because
stream ids only grow within a stream, and stable across re-deliveries, which is
what makes applying an event twice a no-op in PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

import msgspec

from ledger.model import (
    MAX_AMOUNT,
    AccountLimits,
    CheckedValues,
    QuotaPeriod,
    check_account,
    check_amount,
    check_message_id,
)

_CONNECTOR = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
MAX_OPERATOR_ID = 65
"""SMPP message_id is a C-octet string of <= 65 (5.2.23)."""
MAX_ADDRESS = 64
"""An SMPP address is a C-octet string of <= 65 (data_sm, SMPP 3.4 4.7.1)."""
MAX_REFERENCE = 64


class EventSchemaError(ValueError):
    """A stream entry that does not follow this schema: a writer bug, never skipped silently."""


class EventKind(StrEnum):
    ACCOUNT = "account"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    ADJUST = "adjust"
    MESSAGE = "message"
    """One message event per entry: what versions before packed entries wrote."""
    MESSAGES = "messages"
    """The message events of one write, packed in one entry (`message_events_body`)."""
    MONEY = "money"
    """The money events of one ledger script call, packed in one entry (`_MoneyRecords`)."""


class EventField(StrEnum):
    KIND = "kind"
    TS = "ts"
    ACCOUNT = "account"
    BALANCE = "balance"
    HELD = "held"
    ENABLED = "enabled"
    CREDIT_LIMIT = "credit_limit"
    THROUGHPUT = "throughput"
    QUOTA = "quota"
    QUOTA_PERIOD = "quota_period"
    BODY = "body"


class MessageState(StrEnum):
    """Where a message is; operator states follow SMPP 3.4 5.2.28 (message_state)."""

    ACCEPTED = "accepted"
    SUBMITTED = "submitted"
    ENROUTE = "enroute"
    DELIVERED = "delivered"
    EXPIRED = "expired"
    DELETED = "deleted"
    UNDELIVERABLE = "undeliverable"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    FAILED = "failed"


MONEY_KINDS = frozenset({EventKind.HOLD, EventKind.CAPTURE, EventKind.RELEASE, EventKind.ADJUST})

DELTAS = {
    EventKind.HOLD: (0, 1),
    EventKind.CAPTURE: (-1, -1),
    EventKind.RELEASE: (0, -1),
    EventKind.ADJUST: (1, 0),
}
"""(balance, held) change per unit of amount, by kind: a hold reserves, a capture
spends what it reserved, a release frees it, an adjustment moves the balance."""


class Position(msgspec.Struct, frozen=True, order=True):
    """Where an event sits in its bucket stream; orders the events of one account."""

    bucket: int
    ms: int
    seq: int

    @classmethod
    def parse(cls, bucket: int, entry_id: str) -> Position:
        ms, _, seq = entry_id.partition("-")
        return cls(bucket, int(ms), int(seq))

    @property
    def event_id(self) -> str:
        return f"{self.bucket}-{self.ms}-{self.seq}"


# Events are gc=False: they hold strings, numbers and untracked structs, so they
# cannot form a cycle, and the collector walking a persister round's thousands
# of them cost 7% of decoding and folding the round.
class LedgerEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A change of money: hold, capture, release or adjust, with the account's state after it."""

    kind: EventKind
    account: str
    amount: int
    balance: int
    held: int
    ts_ms: int
    message_id: str = ""
    parts: int = 0
    reference: str = ""
    reason: str = ""
    position: Position | None = None

    @property
    def balance_delta(self) -> int:
        return DELTAS[self.kind][0] * self.amount

    @property
    def held_delta(self) -> int:
        return DELTAS[self.kind][1] * self.amount


class AccountEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An account created or its limits changed."""

    account: str
    limits: AccountLimits
    balance: int
    held: int
    ts_ms: int
    position: Position | None = None


def _check_connector(connector: str) -> None:
    if type(connector) is str and connector in _CHECKED_CONNECTORS.values:
        return
    if not isinstance(connector, str) or not _CONNECTOR.fullmatch(connector):
        raise ValueError(f"connector must be 1-64 of [A-Za-z0-9_.:-], got {connector!r}")
    _CHECKED_CONNECTORS.remember(connector)


def _check_text(name: str, value: str, limit: int) -> None:
    """Free text from a client (addresses, references): printable, so it shows and logs safely."""
    if not isinstance(value, str) or not 0 < len(value) <= limit or not value.isprintable():
        raise ValueError(f"{name} must be 1-{limit} printable characters, got {value!r}")


def _is_operator_id(value: object) -> bool:
    """1-65 printable ASCII characters but space (`[!-~]{1,65}`), without a regex: half the cost."""
    return (
        type(value) is str
        and len(value) <= MAX_OPERATOR_ID
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


_CHECKED_CONNECTORS = CheckedValues()
_CHECKED_CODES = CheckedValues()
"""Currency codes of `Pricing` that passed."""
_CHECKED_TEXTS = CheckedValues()
"""Exchange rates, routes, networks and countries of `Pricing` that passed."""


class Pricing(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """How the accept priced a message (docs/billing.md), for its CDR: the
    account's ``currency`` (of ``price_per_part``, held and charged), the
    tariff's ``list_price`` per part in ``list_currency``, the ``exchange_rate``
    between them (a decimal, "1" when the same), what the operator charges us
    per part (``cost_per_part`` in ``cost_currency``), and where it went."""

    currency: str
    list_price: int
    list_currency: str
    exchange_rate: str
    cost_per_part: int
    cost_currency: str
    route_id: str = ""
    network: str = ""
    country: str = ""

    def __post_init__(self) -> None:
        # A route's pricing comes back on every message of the route: the
        # persister decodes it once per message. Values that passed once are set
        # lookups (1.25 -> 0.46 us); anything new goes through the checks.
        codes, texts = _CHECKED_CODES.values, _CHECKED_TEXTS.values
        if not (
            type(self.currency) is str
            and self.currency in codes
            and type(self.list_currency) is str
            and self.list_currency in codes
            and type(self.cost_currency) is str
            and self.cost_currency in codes
            and type(self.list_price) is int
            and 0 <= self.list_price <= MAX_AMOUNT
            and type(self.cost_per_part) is int
            and 0 <= self.cost_per_part <= MAX_AMOUNT
            and type(self.exchange_rate) is str
            and self.exchange_rate in texts
            and (self.route_id == "" or (type(self.route_id) is str and self.route_id in texts))
            and (self.network == "" or (type(self.network) is str and self.network in texts))
            and (self.country == "" or (type(self.country) is str and self.country in texts))
        ):
            self._check()

    def _check(self) -> None:
        """Every field's rule; remembers the values that passed."""
        for name in ("currency", "list_currency", "cost_currency"):
            code = getattr(self, name)
            if type(code) is not str or len(code) != 3 or not code.isascii() or not code.isupper():
                raise ValueError(f"{name} must be an ISO 4217 code, got {code!r}")
            _CHECKED_CODES.remember(code)
        check_amount("list_price", self.list_price)
        check_amount("cost_per_part", self.cost_per_part)
        _check_text("exchange_rate", self.exchange_rate, 64)
        _CHECKED_TEXTS.remember(self.exchange_rate)
        for name in ("route_id", "network", "country"):
            if getattr(self, name) != "":
                _check_text(name, getattr(self, name), 64)
                _CHECKED_TEXTS.remember(getattr(self, name))


class MessageEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A message changed state; appended by the engine, persisted as history.

    `destination`, `source`, `reference` (the client's own) and `price_per_part`
    (minor units) describe the message once: the engine sets them on the
    ACCEPTED event only, and readers keep them from there. Empty means unknown.
    """

    message_id: str
    account: str
    state: MessageState
    ts_ms: int
    connector: str = ""
    operator_message_id: str = ""
    error_code: int | None = None
    parts: int = 0
    destination: str = ""
    source: str = ""
    reference: str = ""
    price_per_part: int = 0
    pricing: Pricing | None = None
    """Set on the ACCEPTED event only, as the addresses are."""
    position: Position | None = None

    def __post_init__(self) -> None:
        # The engine builds one of these per state change: the id, account and
        # connector checks are set lookups for values that passed before.
        check_message_id(self.message_id)
        check_account(self.account)
        if type(self.state) is not MessageState:
            MessageState(self.state)
        if type(self.ts_ms) is not int or self.ts_ms < 0:
            raise ValueError(f"ts_ms must be a non-negative int, got {self.ts_ms!r}")
        if self.connector != "":
            _check_connector(self.connector)
        if self.operator_message_id != "" and not _is_operator_id(self.operator_message_id):
            raise ValueError(
                "operator message id must be 1-65 printable ASCII characters, "
                f"got {self.operator_message_id!r}"
            )
        if self.error_code is not None and (
            type(self.error_code) is not int or not 0 <= self.error_code < 2**31
        ):
            raise ValueError(f"error_code must be an int in 0..2**31-1, got {self.error_code!r}")
        if type(self.parts) is not int or not 0 <= self.parts <= 255:
            raise ValueError(f"parts must be an int in 0..255, got {self.parts!r}")
        if self.destination != "":
            _check_text("destination", self.destination, MAX_ADDRESS)
        if self.source != "":
            _check_text("source", self.source, MAX_ADDRESS)
        if self.reference != "":
            _check_text("reference", self.reference, MAX_REFERENCE)
        if type(self.price_per_part) is not int or not 0 <= self.price_per_part <= MAX_AMOUNT:
            check_amount("price_per_part", self.price_per_part)


Event = LedgerEvent | AccountEvent | MessageEvent


class _MessageRecord(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A message event as a stream entry's `body` holds it: one msgpack array.

    The engine writes several message events per message, and the persister reads
    them all back: one packed array instead of a dozen string fields made writing
    an event 13x and reading it 3x cheaper in Python (3.4 -> 0.26 us, 7.5 -> 2.4 us),
    and spares Redis the unpacking. ``pricing`` came later: an entry written
    before it ends one element early and decodes with none.
    """

    ts_ms: int
    message_id: str
    account: str
    state: MessageState
    parts: int
    connector: str
    operator_message_id: str
    error_code: int | None
    destination: str
    source: str
    reference: str
    price_per_part: int
    pricing: Pricing | None = None


_encode_records = msgspec.msgpack.Encoder().encode
_decode_record = msgspec.msgpack.Decoder(_MessageRecord).decode
_decode_records = msgspec.msgpack.Decoder(list[_MessageRecord]).decode

_MoneyRecord = tuple[int, str, int, int, int, str, int, str, str]
"""A money event's record: the time, the account, the amount, the balance and
holds after it, the message id, the parts, the reference and the reason (empty
or 0 when the kind has none). An entry of one money event (what versions
before `money` entries wrote) holds one as its `body`. Packed in Lua and
decoded here in C, for the reason message events are."""

_decode_money = msgspec.msgpack.Decoder(_MoneyRecord).decode

_MoneyRecords = list[tuple[str, int, str, int, int, int, str, int, str, str]]
"""A `money` entry's body as the scripts' `commit_money` packs it: one record per
event, its kind then a `_MoneyRecord`. The entry's id is its first event's
position and the others follow it (``<ms>-<seq + i>``): the script moves the
stream's last id past them."""

_decode_money_records = msgspec.msgpack.Decoder(_MoneyRecords).decode


def message_events_body(events: Sequence[MessageEvent]) -> bytes:
    """The `body` of one `messages` stream entry: the events' records in one
    msgpack array. A message costs the engine three message events: packing a
    write's events in one entry took three XADDs per message off Redis and as
    many entries off the persister's reads, acknowledgements and decoding."""
    records = []
    for event in events:
        record = (
            event.ts_ms, event.message_id, event.account, event.state, event.parts,
            event.connector, event.operator_message_id, event.error_code,
            event.destination, event.source, event.reference, event.price_per_part,
        )  # fmt: skip
        records.append(record if event.pricing is None else (*record, event.pricing))
    return _encode_records(records)


def decode_events(bucket: int, entry_id: str, raw: dict[bytes, bytes]) -> list[Event]:
    """The events of one stream entry, or raises EventSchemaError. The events of a
    packed entry share its position: a persister round reads an entry whole, so
    they are always applied together, in the order the entry holds them."""
    try:
        position = Position.parse(bucket, entry_id)
        kind = _KINDS[raw[_KIND]]
        if kind is _MESSAGES:
            return [_message_event(r, position) for r in _decode_records(raw[_BODY])]
        if kind is _MESSAGE:
            return [_message_event(_decode_record(raw[_BODY]), position)]
        if kind is _MONEY:
            return _money_events(bucket, position, _decode_money_records(raw[_BODY]))
        if kind is _ACCOUNT:
            fields = {key.decode(): value.decode() for key, value in raw.items()}
            return [_account_event(fields, position)]
        return _money_events(bucket, position, [(kind.value, *_decode_money(raw[_BODY]))])
    except (KeyError, ValueError, msgspec.ValidationError, msgspec.DecodeError) as error:
        raise EventSchemaError(f"bad event {bucket}-{entry_id} {raw!r}: {error!r}") from error


def decode_entry(bucket: int, entry_id: str, flat: list[bytes]) -> list[Event]:
    """`decode_events` of an entry's fields as Redis lists them (field, value, ...):
    a message or money entry is `kind` then `body`, read without a dict."""
    if len(flat) == 4 and flat[0] == _KIND and flat[2] == _BODY:
        return decode_events(bucket, entry_id, {_KIND: flat[1], _BODY: flat[3]})
    return decode_events(bucket, entry_id, dict(zip(flat[::2], flat[1::2], strict=True)))


_KIND = EventField.KIND.encode()
_KINDS = {kind.value.encode(): kind for kind in EventKind}
"""Each kind by its bytes in the stream: a dict lookup instead of decoding and an enum call."""
_MESSAGES, _MESSAGE, _MONEY, _ACCOUNT = (
    EventKind.MESSAGES, EventKind.MESSAGE, EventKind.MONEY, EventKind.ACCOUNT,
)  # fmt: skip
"""Module names: `EventKind.MONEY` is a class attribute lookup of 90 ns in Python 3.11."""
_BODY = EventField.BODY.encode()


_MONEY_KINDS = {kind.value: kind for kind in MONEY_KINDS}


def _money_events(bucket: int, first: Position, records: _MoneyRecords) -> list[LedgerEvent]:
    """The events of a `money` entry, each at its own position (`_MoneyRecords`),
    or the one event of an entry written before them."""
    events = []
    for seq, record in enumerate(records, first.seq):
        kind, ts_ms, account, amount, balance, held, message_id, parts, reference, reason = record
        events.append(
            LedgerEvent(
                kind=_MONEY_KINDS[kind],
                account=account,
                amount=amount,
                balance=balance,
                held=held,
                ts_ms=ts_ms,
                message_id=message_id,
                parts=parts,
                reference=reference,
                reason=reason,
                position=Position(bucket, first.ms, seq),
            )
        )
    return events


def _account_event(fields: dict[str, str], position: Position) -> AccountEvent:
    limits = AccountLimits(
        enabled=fields[EventField.ENABLED] == "1",
        credit_limit=int(fields[EventField.CREDIT_LIMIT]),
        throughput=int(fields[EventField.THROUGHPUT]),
        quota=int(fields[EventField.QUOTA]),
        quota_period=QuotaPeriod(fields[EventField.QUOTA_PERIOD]),
    )
    return AccountEvent(
        account=fields[EventField.ACCOUNT],
        limits=limits,
        balance=int(fields[EventField.BALANCE]),
        held=int(fields[EventField.HELD]),
        ts_ms=int(fields[EventField.TS]),
        position=position,
    )


def _message_event(record: _MessageRecord, position: Position) -> MessageEvent:
    return MessageEvent(
        message_id=record.message_id,
        account=record.account,
        state=record.state,
        ts_ms=record.ts_ms,
        connector=record.connector,
        operator_message_id=record.operator_message_id,
        error_code=record.error_code,
        parts=record.parts,
        destination=record.destination,
        source=record.source,
        reference=record.reference,
        price_per_part=record.price_per_part,
        pricing=record.pricing,
        position=position,
    )
