"""What the simulated SMSC sends to ESMEs: receipt and MO deliver_sm PDUs.

A receipt carries the Appendix B text written by `smpp.receipt.format_receipt`
and the receipted_message_id (§5.3.2.12) and message_state (§5.3.2.35) TLVs,
so a gateway can be tested both on the TLVs and on the text alone.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import UTC, datetime
from functools import lru_cache
from itertools import accumulate

import msgspec

from bench.smsc_sim_config import OutcomeMix, encode_mo_text
from smpp import pdu as p
from smpp.constants import EsmClass, Npi, RegisteredDelivery, Ton
from smpp.receipt import STAT_WORDS, TEXT_PREVIEW_LENGTH, MessageState
from smpp.text import NotTextError, decode_text
from smpp.tlv import Tag

OUTCOME_STATES = (
    MessageState.DELIVERED,
    MessageState.UNDELIVERABLE,
    MessageState.EXPIRED,
    MessageState.REJECTED,
)
"""The final state of each `OutcomeMix` weight, in field order."""

RECEIPT_ERRORS: dict[MessageState, str] = {
    MessageState.DELIVERED: "000",
    MessageState.UNDELIVERABLE: "001",
    MessageState.EXPIRED: "002",
    MessageState.REJECTED: "003",
}
"""The err field of each outcome: Appendix B leaves err network specific."""

_SHORT_NUMBER_DIGITS = 8
"""Digit strings up to this long are short codes, longer ones international numbers."""

_FINAL = int(RegisteredDelivery.FINAL)
_FAILURE_ONLY = int(RegisteredDelivery.FAILURE_ONLY)
_RECEIPT_BITS = _FINAL | _FAILURE_ONLY
_UDHI = int(EsmClass.UDHI)
_DELIVERY_RECEIPT = int(EsmClass.DELIVERY_RECEIPT)
_RECEIPTED_MESSAGE_ID = int(Tag.RECEIPTED_MESSAGE_ID)
_MESSAGE_STATE = int(Tag.MESSAGE_STATE)
_DELIVERED = MessageState.DELIVERED
"""Plain ints and hoisted members: an IntFlag operator is a Python call, and
reading an enum member off its class costs more than using it; this is per message."""

_RECEIPT_PIECES: dict[MessageState, tuple[str, str]] = {
    state: (
        f" sub:001 dlvrd:{1 if state is MessageState.DELIVERED else 0:03d} submit date:",
        f" stat:{STAT_WORDS[state]} err:{RECEIPT_ERRORS[state]} text:",
    )
    for state in OUTCOME_STATES
}
"""What `format_receipt` writes around the dates of each outcome's receipt."""
_PREVIEW_CACHE_SIZE = 4_096
"""Distinct message beginnings whose preview is kept: a campaign repeats its text."""
_RECEIPT_DATE = "%y%m%d%H%M"
_NEAR_NEXT_SECOND = 0.999
"""Past this fraction `datetime` may round a time up to the next second."""


class OutcomeDraw:
    """Picks final states at random in proportion to an `OutcomeMix`."""

    def __init__(self, mix: OutcomeMix) -> None:
        self._bounds = list(accumulate(msgspec.structs.astuple(mix)))

    def draw(self, rng: random.Random) -> MessageState:
        return OUTCOME_STATES[bisect_right(self._bounds, rng.randrange(self._bounds[-1]))]


def receipt_wanted(registered_delivery: int, state: MessageState) -> bool:
    """Whether the submit's SMSC receipt bits (§5.2.17) ask for a receipt in ``state``.

    01 asks for every final state, 10 for failures only; 11 is reserved in 3.4
    and means success only in SMPP 5.0 (§4.7.21), which we follow.
    """
    asked = registered_delivery & _RECEIPT_BITS
    if asked == _FINAL:
        return True
    if asked == _FAILURE_ONLY:
        return state is not _DELIVERED
    return bool(asked) and state is _DELIVERED


class AcceptedMessage(msgspec.Struct, frozen=True, gc=False):
    """What a receipt repeats of a submit_sm we accepted."""

    system_id: str
    message_id: str
    state: MessageState
    submitted_at: float
    """Seconds since the epoch."""
    handset: tuple[int, int, str]
    """ton, npi and address of the destination: the receipt's source."""
    sender: tuple[int, int, str]
    preview: str


def accepted_message(
    system_id: str, message_id: str, state: MessageState, submit: p.SubmitSm, submitted_at: float
) -> AcceptedMessage:
    return AcceptedMessage(
        system_id=system_id,
        message_id=message_id,
        state=state,
        submitted_at=submitted_at,
        handset=(submit.dest_addr_ton, submit.dest_addr_npi, submit.destination_addr),
        sender=(submit.source_addr_ton, submit.source_addr_npi, submit.source_addr),
        preview=text_preview(submit),
    )


def text_preview(submit: p.SubmitSm) -> str:
    """The first 20 characters of the message (Table B-1); empty for binary data.

    A user data header is skipped (§5.2.12, UDHI); message_payload stands in
    for an empty short_message (§5.3.2.32).
    """
    data = submit.short_message or submit.tlvs.get(Tag.MESSAGE_PAYLOAD, b"")
    if not isinstance(data, bytes):
        return ""
    if submit.esm_class & _UDHI and data:
        data = data[1 + data[0] :]
    return _preview(data[: 2 * TEXT_PREVIEW_LENGTH], submit.data_coding)


@lru_cache(maxsize=_PREVIEW_CACHE_SIZE)
def _preview(data: bytes, data_coding: int) -> str:
    try:
        text = decode_text(data, data_coding)
    except NotTextError:
        return ""
    return text[:TEXT_PREVIEW_LENGTH]


def receipt_pdu(message: AcceptedMessage, done_at: float) -> p.DeliverSm:
    """The deliver_sm receipt for ``message``, reaching its final state at ``done_at``.

    The text is ASCII: a character outside it in the preview becomes ``?``,
    as many SMSCs do, so the text stays readable under any default alphabet.
    """
    source_ton, source_npi, source = message.handset
    dest_ton, dest_npi, dest = message.sender
    return p.DeliverSm(
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        source_addr=source,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        destination_addr=dest,
        esm_class=_DELIVERY_RECEIPT,
        short_message=receipt_text(message, done_at).encode("ascii", "replace"),
        tlvs={_RECEIPTED_MESSAGE_ID: message.message_id, _MESSAGE_STATE: message.state},
    )


def receipt_text(message: AcceptedMessage, done_at: float) -> str:
    """`format_receipt`'s Appendix B text for ``message``, without building a
    `DeliveryReceipt` and two datetimes per message: the dates come per minute."""
    before_dates, after_dates = _RECEIPT_PIECES[message.state]
    return (
        f"id:{message.message_id}{before_dates}{_receipt_date(message.submitted_at)}"
        f" done date:{_receipt_date(done_at)}{after_dates}{message.preview[:TEXT_PREVIEW_LENGTH]}"
    )


def _receipt_date(at: float) -> str:
    """YYMMDDhhmm in UTC of ``at`` (seconds since the epoch); `datetime`
    itself only near a whole second, which its rounding to the microsecond
    may reach."""
    second = int(at)
    if at - second > _NEAR_NEXT_SECOND:
        return datetime.fromtimestamp(at, UTC).strftime(_RECEIPT_DATE)
    return _minute_text(second // 60)


@lru_cache(maxsize=16)
def _minute_text(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, UTC).strftime(_RECEIPT_DATE)


def mo_pdu(source: str, destination: str, text: str) -> p.DeliverSm:
    """A mobile-originated deliver_sm (esm_class 0, §4.6.1) carrying ``text``."""
    data_coding, octets = encode_mo_text(text)
    source_ton, source_npi = _ton_npi(source)
    dest_ton, dest_npi = _ton_npi(destination)
    return p.DeliverSm(
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        source_addr=source,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        destination_addr=destination,
        data_coding=data_coding,
        short_message=octets,
    )


def _ton_npi(address: str) -> tuple[Ton, Npi]:
    """How a handset or service address is typed (§5.2.5, §5.2.6)."""
    if not (address.isascii() and address.isdigit()):
        return Ton.ALPHANUMERIC, Npi.UNKNOWN
    if len(address) > _SHORT_NUMBER_DIGITS:
        return Ton.INTERNATIONAL, Npi.ISDN
    return Ton.UNKNOWN, Npi.ISDN
