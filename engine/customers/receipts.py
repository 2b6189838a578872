"""What our delivery receipt to a customer says (SMPP 3.4 §5.2.12, Appendix B).

A receipt comes back the way an SMSC's would: from the handset the message went
to, to the sender it came from. Its source_addr with TON/NPI is the original
destination_addr with its TON/NPI, its destination_addr the original
source_addr with its own. It names the message by the id we answered in
submit_sm_resp (``id:`` and receipted_message_id), in the account's id format.

``text:`` repeats the first 20 characters of the message (Table B-1), read by
its data_coding; binary data (an octet coding) has none. The receipt is ASCII
in data_coding 0, as every SMSC sends it, unless the preview holds Latin-1
letters: then the whole receipt is Latin-1, said by data_coding 3, and its
keys and values read the same. A character beyond Latin-1 (Cyrillic, an
emoji) becomes "?", and a control character a space: a receipt in UCS-2 would
break every client that reads receipts as ASCII.
"""

from __future__ import annotations

import time

from engine.messages.message import MtMessage
from engine.messages.receipt_map import SubmittedPart
from smpp import pdu as p
from smpp.constants import SMSC_RECEIPT_MASK, EsmClass, RegisteredDelivery
from smpp.receipt import (
    STAT_WORDS,
    TEXT_PREVIEW_LENGTH,
    MessageState,
    format_own_receipt,
    is_final,
)
from smpp.text import DataCoding, NotTextError, decode_text
from smpp.tlv import Tag

_RECEIPT = int(EsmClass.DELIVERY_RECEIPT)
_INTERMEDIATE = int(EsmClass.INTERMEDIATE_NOTIFICATION)
_UDHI = int(EsmClass.UDHI)
_ASKS_SMPP_RECEIPT = SMSC_RECEIPT_MASK | int(RegisteredDelivery.INTERMEDIATE)
_PREVIEW_OCTETS = 4 * TEXT_PREVIEW_LENGTH
"""Enough octets for 20 characters in any text coding: a UCS-2 surrogate pair
takes 4, a GSM escape 2; the message may be long and only these are decoded."""
_LATIN_1 = int(DataCoding.LATIN_1)
_DELIVERED = MessageState.DELIVERED
_RECEIPTED_MESSAGE_ID = Tag.RECEIPTED_MESSAGE_ID
_MESSAGE_STATE = Tag.MESSAGE_STATE
_WRITTEN = {
    state: (STAT_WORDS[state], _RECEIPT if is_final(state) else _INTERMEDIATE, int(state))
    for state in MessageState
}
"""Each state's stat word, esm_class and message_state, worked out once:
reading an enum's attribute costs 0.1 us, and a receipt read three."""


def submitted_part(message: MtMessage, submitted_at: float) -> SubmittedPart:
    """What the receipts of ``message`` need. The preview is kept only when an
    SMPP receipt will carry it: the part waits in Redis for its receipt."""
    smpp_receipt = message.callback is None and message.registered_delivery & _ASKS_SMPP_RECEIPT
    return SubmittedPart(
        message.id,
        message.account,
        message.registered_delivery,
        message.source_addr,
        message.destination_addr,
        submitted_at,
        callback=message.callback,
        reference=message.reference,
        source_addr_ton=message.source_addr_ton,
        source_addr_npi=message.source_addr_npi,
        dest_addr_ton=message.dest_addr_ton,
        dest_addr_npi=message.dest_addr_npi,
        preview=text_preview(message) if smpp_receipt else "",
        bind=message.bind,
        price=message.price_per_part * message.parts if message.callback is not None else 0,
    )


def text_preview(message: MtMessage) -> str:
    """The first 20 characters of ``message``'s text as a receipt writes them;
    "" for binary data. A customer's own UDH is skipped, not shown."""
    user_data = message.user_data
    if message.esm_class & _UDHI and user_data:
        user_data = user_data[1 + user_data[0] :]
    try:
        text = decode_text(user_data[:_PREVIEW_OCTETS], message.data_coding)
    except NotTextError:
        return ""
    preview = text[:TEXT_PREVIEW_LENGTH]
    if preview.isascii() and preview.isprintable():
        return preview  # the common case, without a call per character
    return "".join(map(_receipt_character, preview))


def _receipt_character(character: str) -> str:
    if character.isspace():
        return " "
    return character if character <= "\xff" and character.isprintable() else "?"


def receipt_pdu(part: SubmittedPart, state: MessageState, error: str) -> p.DeliverSm:
    """Our receipt to the customer: the standard text and TLVs, with our id;
    an intermediate notification (esm_class 0x20, §5.2.12) while not final.
    ``error`` is three letters or digits (`engine.messages.reports.forwarded_err`)."""
    stat, esm_class, state_value = _WRITTEN[state]
    text = format_own_receipt(
        part.message_id,
        state is _DELIVERED,
        part.submitted_at,
        time.time(),
        stat,
        error,
        part.preview,
    )
    return p.DeliverSm(
        source_addr_ton=part.dest_addr_ton,
        source_addr_npi=part.dest_addr_npi,
        source_addr=part.destination_addr,
        dest_addr_ton=part.source_addr_ton,
        dest_addr_npi=part.source_addr_npi,
        destination_addr=part.source_addr,
        esm_class=esm_class,
        data_coding=0 if text.isascii() else _LATIN_1,
        short_message=text.encode("latin-1"),
        tlvs={_RECEIPTED_MESSAGE_ID: part.message_id, _MESSAGE_STATE: state_value},
    )
