"""Requests and results of the ledger, validated where they are built.

Amounts are integers in minor units. Every amount and balance stays within
2**50 because the Lua scripts compute with Lua numbers (IEEE doubles): sums of
a few such values stay exact, far below 2**53.
"""

from __future__ import annotations

import re
from enum import StrEnum

import msgspec

MAX_AMOUNT = 2**50 - 1
MAX_PARTS = 255
"""A concatenated message has at most 255 parts (3GPP TS 23.040 9.2.3.24.1, one octet)."""

_ACCOUNT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
_TOKEN = re.compile(r"[!-~]{1,128}")  # printable ASCII, no spaces: idempotency keys, references


class CheckedValues:
    """Values that passed a check already: accounts, connectors and a message's id
    repeat on every event of the engine, so remembering them turns a regex match
    into a set lookup. Bounded: it forgets everything once it holds `limit` values."""

    __slots__ = ("_limit", "values")

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self.values: set[str] = set()

    def remember(self, value: str) -> None:
        """Call only once `value` passed the check."""
        if len(self.values) >= self._limit:
            self.values.clear()
        self.values.add(value)


CHECKED_ACCOUNTS = CheckedValues()
CHECKED_MESSAGE_IDS = CheckedValues()
"""A message's id comes back in its accept, its three events and its capture."""


def check_account(account: str) -> None:
    if type(account) is str and account in CHECKED_ACCOUNTS.values:
        return
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise ValueError(f"account must be 1-64 of [A-Za-z0-9_.-], got {account!r}")
    CHECKED_ACCOUNTS.remember(account)


def check_message_id(message_id: str) -> None:
    if type(message_id) is str and message_id in CHECKED_MESSAGE_IDS.values:
        return
    if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(f"message id must be 1-64 of [A-Za-z0-9_.:-], got {message_id!r}")
    CHECKED_MESSAGE_IDS.remember(message_id)


def check_outbox_id(entry_id: str) -> None:
    """An outbox entry's stream id, or "" for none."""
    if entry_id and not (isinstance(entry_id, str) and _STREAM_ID.fullmatch(entry_id)):
        raise ValueError(f"outbox entry id must be a stream id (ms-seq), got {entry_id!r}")


def check_shard(shard: str) -> None:
    if not isinstance(shard, str) or not _ACCOUNT.fullmatch(shard):
        raise ValueError(f"shard must be 1-64 of [A-Za-z0-9_.-], got {shard!r}")


def check_token(name: str, value: str) -> None:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise ValueError(f"{name} must be 1-128 printable ASCII characters, got {value!r}")


def check_reason(reason: str) -> None:
    if not isinstance(reason, str) or not 1 <= len(reason) <= 200 or not reason.isprintable():
        raise ValueError(f"reason must be 1-200 printable characters, got {reason!r}")


def check_amount(name: str, value: int, low: int = 0) -> None:
    if type(value) is not int or not low <= value <= MAX_AMOUNT:
        raise ValueError(f"{name} must be an int in {low}..{MAX_AMOUNT}, got {value!r}")


class QuotaPeriod(StrEnum):
    """The calendar window a quota counts in, in UTC."""

    DAY = "day"
    MONTH = "month"


class AccountLimits(msgspec.Struct, frozen=True, kw_only=True):
    """What an account may do; zero throughput or quota means unlimited.

    Throughput and quota count message parts, because every part is one
    `submit_sm` to the operator and one billed SMS.
    """

    enabled: bool = True
    credit_limit: int = 0
    """How far below zero `balance - held` may go."""
    throughput: int = 0
    """Parts per second, across every shard."""
    quota: int = 0
    quota_period: QuotaPeriod = QuotaPeriod.DAY

    def __post_init__(self) -> None:
        if type(self.enabled) is not bool:
            raise ValueError(f"enabled must be a bool, got {self.enabled!r}")
        check_amount("credit_limit", self.credit_limit)
        check_amount("throughput", self.throughput)
        check_amount("quota", self.quota)
        QuotaPeriod(self.quota_period)


class AccountState(msgspec.Struct, frozen=True, kw_only=True):
    """An account's live balance and limits as the ledger holds them."""

    account: str
    limits: AccountLimits
    balance: int
    held: int

    @property
    def available(self) -> int:
        """What new holds may still take: balance minus holds plus the credit limit."""
        return self.balance - self.held + self.limits.credit_limit


class AcceptOutcome(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"
    NO_CREDIT = "no_credit"
    THROTTLED = "throttled"
    QUOTA_EXCEEDED = "quota_exceeded"
    ACCOUNT_DISABLED = "account_disabled"
    UNKNOWN_ACCOUNT = "unknown_account"


class AcceptRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One message at the commit point: hold `price * parts` and queue `payload`."""

    message_id: str
    account: str
    parts: int
    price: int
    """Per part, in minor units."""
    payload: bytes = b""
    """Opaque to the ledger; kept in the shard's outbox until acknowledged."""
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        # The engine builds one per message: the account's check is a set lookup
        # once it passed. The message id is new here; checking it remembers it
        # for the message's events and capture.
        parts, price = self.parts, self.price
        check_message_id(self.message_id)
        check_account(self.account)
        if type(parts) is not int or not 1 <= parts <= MAX_PARTS:
            raise ValueError(f"parts must be an int in 1..{MAX_PARTS}, got {parts!r}")
        if type(price) is not int or not 0 <= price * parts <= MAX_AMOUNT:
            check_amount("price", price)
            check_amount("price * parts", price * parts)
        if not isinstance(self.payload, bytes):
            raise ValueError("payload must be bytes")
        if self.idempotency_key is not None:
            check_token("idempotency key", self.idempotency_key)

    @property
    def amount(self) -> int:
        return self.price * self.parts


class AcceptResult(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    outcome: AcceptOutcome
    outbox_id: str | None = None
    """Set when accepted: the entry to acknowledge once the operator took the message."""
    original_message_id: str | None = None
    """Set for a duplicate: the message the idempotency key first accepted."""


class VoidOutcome(StrEnum):
    """What voiding an accept whose reply never came did (`Ledger.void_accepts`)."""

    VOIDED = "voided"
    """The accept had run: its hold is released and its outbox entry deleted."""
    BARRED = "barred"
    """It had not: a settled hold record bars it, should it still reach the ledger."""
    KEPT = "kept"
    """The hold was settled already, or is another account's: nothing changed."""


class SettleOutcome(StrEnum):
    OK = "ok"
    ALREADY_CAPTURED = "already_captured"
    ALREADY_RELEASED = "already_released"
    UNKNOWN_HOLD = "unknown_hold"
    EXCEEDS_HOLD = "exceeds_hold"


Capture = tuple[str, str, int, str]
"""One message's capture for `Ledger.capture_many`: message id, account, amount, outbox id."""
Release = tuple[str, str, str]
"""One message's release for `Ledger.release_many`: message id, account, outbox id."""


class SettleResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a capture or release did; after an earlier capture, `captured` says how much."""

    message_id: str
    outcome: SettleOutcome
    captured: int = 0
    released: int = 0


class AdjustOutcome(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"
    NO_CREDIT = "no_credit"
    BALANCE_LIMIT = "balance_limit"
    """The balance would leave -MAX_AMOUNT..MAX_AMOUNT."""
    UNKNOWN_ACCOUNT = "unknown_account"


class AdjustResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an adjustment did and the account's balance and holds right after."""

    reference: str
    outcome: AdjustOutcome
    balance: int = 0
    held: int = 0


class OutboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A message accepted by a shard and not yet acknowledged as submitted."""

    entry_id: str
    message_id: str
    account: str
    parts: int
    price: int
    payload: bytes


class OutboxRef(msgspec.Struct, frozen=True):
    """Names an outbox entry for acknowledgement (the account gives its bucket)."""

    account: str
    entry_id: str
