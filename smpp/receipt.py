"""Delivery receipts: the Appendix B text of SMPP 3.4 and message states (§5.2.28).

Appendix B calls its text "SMSC vendor specific" and operators take it at its
word: 10- or 12-digit dates (some even send full §7.1.1 absolute times), missing
sub/dlvrd/text, ``Text:`` or ``submit_date:``, unpadded counters, a 4-digit err.
`parse_receipt` therefore reads any of these and never raises, while
`format_receipt` writes only the canonical form.

The receipted_message_id (0x001E, §5.3.2.12) and message_state (0x0427,
§5.3.2.35) TLVs are decoded by `smpp.codec`; `receipt_outcome` prefers them to
the text, since their form is fixed by the spec and the text's is not.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from functools import lru_cache

import msgspec

from smpp.errors import SmppError
from smpp.smpptime import CENTURY, TIME_LENGTH, SmppTimeError, as_utc, parse_absolute

TEXT_PREVIEW_LENGTH = 20
"""A receipt repeats the first 20 characters of the original message (Table B-1)."""

MAX_COUNTER = 999
"""sub and dlvrd are three digits (Table B-1)."""

MAX_ERR_LENGTH = 3
"""err is three characters (Table B-1)."""

_MAX_COUNTER_DIGITS = 9
_KEY = re.compile(
    r"(?<!\S)(id|sub|dlvrd|submit[ _-]*date|done[ _-]*date|stat|err|text)[ \t]*:",
    re.ASCII | re.IGNORECASE,
)


class ReceiptError(SmppError, ValueError):
    """A receipt that cannot be written in the canonical Appendix B form."""


class MessageState(IntEnum):
    """message_state values (§5.2.28; SCHEDULED and SKIPPED from SMPP 5.0 §4.7.15)."""

    SCHEDULED = 0
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9


FINAL_STATES = frozenset(MessageState) - {MessageState.SCHEDULED, MessageState.ENROUTE}
"""States after which the SMSC makes no further delivery attempt.

SMPP 5.0 marks UNKNOWN neither final nor intermediate; we count it final because
a receipt carrying it is the last word an SMSC sends about the message.
"""

STAT_WORDS: dict[MessageState, str] = {
    MessageState.SCHEDULED: "ENROUTE",
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
    MessageState.SKIPPED: "SKIPPED",
}
"""The stat word we write for each state (Table B-2). SCHEDULED has no word of
its own; 3.4 SMSCs report a scheduled message as ENROUTE, so we do too."""

STATES_BY_STAT: dict[str, MessageState] = {
    **{word: state for state, word in STAT_WORDS.items() if state is not MessageState.SCHEDULED},
    "SCHEDULED": MessageState.SCHEDULED,
    "DELIVERED": MessageState.DELIVERED,
    "UNDELIVERABLE": MessageState.UNDELIVERABLE,
    "UNDELIVERED": MessageState.UNDELIVERABLE,
    "FAILED": MessageState.UNDELIVERABLE,
    "ACCEPTED": MessageState.ACCEPTED,
    "REJECTED": MessageState.REJECTED,
}
"""Every stat word we understand, upper-case: Table B-2 plus the spelled-out
variants operators send."""


def is_final(state: MessageState) -> bool:
    """Whether no further receipt is to be expected for a message in ``state``."""
    return state in FINAL_STATES


def state_from_stat(stat: str) -> MessageState | None:
    """The state a stat word names, in any case; ``None`` for a word we do not know."""
    return STATES_BY_STAT.get(stat.upper())


class DeliveryReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of an Appendix B receipt text; ``None`` where the text has none.

    ``id`` and ``err`` are kept exactly as sent: an id may be hex or decimal and
    must be matched, never converted. ``stat`` is upper-case. Dates carry no zone
    in the text and are taken as UTC.
    """

    id: str | None = None
    sub: int | None = None
    dlvrd: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    stat: str | None = None
    err: str | None = None
    text: str | None = None


class ReceiptOutcome(msgspec.Struct, frozen=True):
    """What a receipt says about one message: the SMSC's id for it and its state.

    ``receipt`` is the parsed text when there was one, so a caller can also try
    its id when the TLV id does not match (operators differ in hex vs decimal).
    """

    message_id: str
    state: MessageState
    receipt: DeliveryReceipt | None


def _canonical_key(raw: str) -> str:
    key = raw.lower()
    if key.startswith("submit"):
        return "submit_date"
    if key.startswith("done"):
        return "done_date"
    return key


def _first_token(segment: str) -> str:
    tokens = segment.split(None, 1)
    return tokens[0] if tokens else ""


def _counter(value: str) -> int | None:
    if value and len(value) <= _MAX_COUNTER_DIGITS and value.isascii() and value.isdigit():
        return int(value)
    return None


@lru_cache(maxsize=256)
def _date(value: str) -> datetime | None:
    """A receipt date: YYMMDDhhmm, YYMMDDhhmmss, or a full §7.1.1 absolute time.
    Remembered: receipts of one minute share their dates, and reading a
    receipt's two cost 4.4 of its 19 us."""
    if len(value) == TIME_LENGTH:
        try:
            return parse_absolute(value)
        except SmppTimeError:
            return None
    if len(value) not in (10, 12) or not (value.isascii() and value.isdigit()):
        return None
    try:
        return datetime(
            CENTURY + int(value[0:2]),
            int(value[2:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12] or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def parse_receipt(text: str | bytes) -> DeliveryReceipt | None:
    """Read an Appendix B receipt text leniently; ``None`` if it is not one.

    Keys match in any case and with ``_``/``-``/spaces in the date keys; values
    are the first word after the colon; unknown keys are skipped; ``text:`` takes
    everything after it, colons and spaces included. A text is a receipt when it
    has at least two of these keys other than text, one of them id or stat.
    Bytes are read as Latin-1, which never fails and is ASCII for the keys;
    trailing NULs left by C-string habits are dropped.
    """
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    text = text.rstrip("\x00")
    values: dict[str, str] = {}
    preview: str | None = None
    matches = list(_KEY.finditer(text))
    for index, match in enumerate(matches):
        key = _canonical_key(match.group(1))
        if key == "text":
            preview = text[match.end() :]
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        token = _first_token(text[match.end() : end])
        if token:
            values.setdefault(key, token)
    if len(values) < 2 or not ("id" in values or "stat" in values):
        return None
    stat = values.get("stat")
    return DeliveryReceipt(
        id=values.get("id"),
        sub=_counter(values.get("sub", "")),
        dlvrd=_counter(values.get("dlvrd", "")),
        submit_date=_date(values.get("submit_date", "")),
        done_date=_date(values.get("done_date", "")),
        stat=stat.upper() if stat is not None else None,
        err=values.get("err"),
        text=preview,
    )


def _check_word(name: str, value: str) -> None:
    if value.split() != [value]:
        raise ReceiptError(f"receipt {name} must be one word without spaces, got {value!r}")


_COUNTERS = tuple(f"{value:03d}" for value in range(MAX_COUNTER + 1))
"""Every counter's text, written once: formatting one cost more than the rest of its field."""


def _format_counter(name: str, value: int) -> str:
    if type(value) is not int or not 0 <= value <= MAX_COUNTER:
        raise ReceiptError(f"receipt {name} must be an int 0-999, got {value!r}")
    return _COUNTERS[value]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNITS = {False: timedelta(minutes=1), True: timedelta(seconds=1)}
"""What one step of a 10-digit (minutes) and a 12-digit (seconds) date is."""
_WRITABLE = {
    seconds: (
        (datetime(CENTURY, 1, 1, tzinfo=UTC) - _EPOCH) // unit,
        (datetime(CENTURY + 100, 1, 1, tzinfo=UTC) - _EPOCH) // unit,
    )
    for seconds, unit in _UNITS.items()
}
"""The first step and the step after the last that two-digit years can write (2000-2099)."""


def _format_date(name: str, value: datetime, seconds: bool) -> str:
    """The date as minutes (or seconds) since the epoch, then as text: every receipt
    of one minute has the same text, so it is written once (`_date_text`)."""
    if value.utcoffset() is None:
        as_utc(value)  # raises: a naive datetime is a programming error
    unit = _UNITS[seconds]
    steps = (value - _EPOCH) // unit
    first, end = _WRITABLE[seconds]
    if not first <= steps < end:
        raise ReceiptError(f"receipt {name} {as_utc(value).isoformat()} is outside 2000-2099")
    return _date_text(steps, seconds)


@lru_cache(maxsize=256)
def _date_text(steps: int, seconds: bool) -> str:
    utc = _EPOCH + steps * _UNITS[seconds]
    minutes = f"{utc.year % 100:02d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}"
    return f"{minutes}{utc.second:02d}" if seconds else minutes


def format_receipt(receipt: DeliveryReceipt, *, seconds: bool = False) -> str:
    """Write the canonical Appendix B text of ``receipt``.

    ``id:X sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DELIVRD err:000 text:...``; ``seconds`` writes 12-digit dates. Fields
    that are ``None`` are left out (id and stat are required); text is cut to
    its first 20 characters. Dates are written in UTC.
    """
    if receipt.id is None or receipt.stat is None:
        raise ReceiptError("a receipt needs an id and a stat")
    _check_word("id", receipt.id)
    _check_word("stat", receipt.stat)
    if receipt.stat != receipt.stat.upper():
        raise ReceiptError(f"receipt stat must be upper-case, got {receipt.stat!r}")
    parts = [f"id:{receipt.id}"]
    if receipt.sub is not None:
        parts.append(f"sub:{_format_counter('sub', receipt.sub)}")
    if receipt.dlvrd is not None:
        parts.append(f"dlvrd:{_format_counter('dlvrd', receipt.dlvrd)}")
    if receipt.submit_date is not None:
        parts.append(f"submit date:{_format_date('submit date', receipt.submit_date, seconds)}")
    if receipt.done_date is not None:
        parts.append(f"done date:{_format_date('done date', receipt.done_date, seconds)}")
    parts.append(f"stat:{receipt.stat}")
    if receipt.err is not None:
        _check_word("err", receipt.err)
        if len(receipt.err) > MAX_ERR_LENGTH:
            raise ReceiptError(f"receipt err must be at most 3 characters, got {receipt.err!r}")
        parts.append(f"err:{receipt.err}")
    if receipt.text is not None:
        parts.append(f"text:{receipt.text[:TEXT_PREVIEW_LENGTH]}")
    return " ".join(parts)


_FIRST_MINUTE, _END_MINUTE = _WRITABLE[False]
_ROUNDS_UP = 60.0 - 1e-6
"""Seconds into a minute from which a datetime of the time, rounded to the
microsecond, may fall in the next minute."""


def _minute_text(name: str, timestamp: float) -> str:
    """`_format_date` of the Unix time's UTC datetime, in minutes, without
    making the datetime (a receipt's two, made and written, cost 2.6 us); it
    is made only where its rounding may carry into the next minute, and to
    raise the error of a date outside 2000-2099."""
    minute, second = divmod(timestamp, 60.0)
    if second < _ROUNDS_UP and _FIRST_MINUTE <= minute < _END_MINUTE:
        return _date_text(int(minute), False)
    return _format_date(name, datetime.fromtimestamp(timestamp, UTC), False)


def format_own_receipt(
    receipt_id: str,
    delivered: bool,
    submitted_at: float,
    done_at: float,
    stat: str,
    err: str,
    text: str,
) -> str:
    """`format_receipt` of a receipt we write for one message (sub 1, dlvrd 1
    when ``delivered``, dates as Unix times), without a `DeliveryReceipt` and
    its datetimes. Its words are ours and are not checked again: our message
    id, a word of `STAT_WORDS`, an ``err`` of three letters or digits."""
    return (
        f"id:{receipt_id} sub:001 dlvrd:{'001' if delivered else '000'}"
        f" submit date:{_minute_text('submit date', submitted_at)}"
        f" done date:{_minute_text('done date', done_at)}"
        f" stat:{stat} err:{err} text:{text[:TEXT_PREVIEW_LENGTH]}"
    )


def _state_from_tlv(value: int | None) -> MessageState | None:
    if value is None:
        return None
    try:
        return MessageState(value)
    except ValueError:
        return None


def receipt_outcome(
    receipted_message_id: str | None, message_state: int | None, text: str | bytes
) -> ReceiptOutcome | None:
    """The authoritative id and state of a receipt deliver_sm.

    The receipted_message_id and message_state TLVs win when present and valid;
    the text fills in what they lack. A state found nowhere is UNKNOWN. ``None``
    when no id can be found, since such a receipt cannot be matched to a message.
    """
    receipt = parse_receipt(text)
    message_id = receipted_message_id or (receipt.id if receipt is not None else None)
    if not message_id:
        return None
    state = _state_from_tlv(message_state)
    if state is None and receipt is not None and receipt.stat is not None:
        state = state_from_stat(receipt.stat)
    return ReceiptOutcome(message_id, state if state is not None else MessageState.UNKNOWN, receipt)
