"""How an operator's receipt names the message its submit_sm_resp named.

Operators disagree on it (Kannel's ``msg-id-type``, Jasmin's
``dlr_msg_id_bases``): the receipt may repeat the id as sent, in another case,
without its leading zeros, or in another base (hex in submit_sm_resp, decimal
in the receipt, or the other way round). The receipt map stores each
submit_sm_resp id under its `stored_key` and a receipt is looked up under its
`lookup_keys`, in order, so every convention finds the same key.
"""

from __future__ import annotations

import string
from typing import Literal

ReceiptIdRelation = Literal["auto", "exact", "resp_hex_receipt_decimal", "resp_decimal_receipt_hex"]
"""How a connector's receipt ids relate to its submit_sm_resp ids:

- ``auto``: the same id, in any case, leading zeros or not; failing that, the
  receipt's decimal id read as the hex one, or its hex id as the decimal one.
- ``exact``: byte for byte the same.
- ``resp_hex_receipt_decimal``: submit_sm_resp in hex, receipt in decimal.
- ``resp_decimal_receipt_hex``: submit_sm_resp in decimal, receipt in hex.
"""

ReceiptIdSource = Literal["tlv", "text"]
"""Which id of a receipt wins when its receipted_message_id TLV and its text's
``id:`` disagree; the other is still tried when the winner matches nothing."""

MAX_ID_LENGTH = 65
"""receipted_message_id is a C-octet string of at most 65 octets (SMPP 3.4
§5.3.2.12): a longer id is malformed, never looked up."""

_MAX_CONVERTED_DIGITS = 40
"""Ids longer than this are not converted between bases (128-bit hex is 32
digits; nothing longer is a number an SMSC counts with)."""

_HEX = frozenset(string.hexdigits)


def canonical(operator_id: str) -> str:
    """Lower case without surrounding blanks or leading zeros ("0" stays "0")."""
    lowered = operator_id.strip().lower()
    return lowered.lstrip("0") or lowered[:1]


def is_valid_id(operator_id: str) -> bool:
    return 0 < len(operator_id) <= MAX_ID_LENGTH and operator_id.isprintable()


def stored_key(resp_id: str, relation: ReceiptIdRelation) -> str:
    """The key a submit_sm_resp id is kept under in the receipt map."""
    return resp_id if relation == "exact" else canonical(resp_id)


def _as_hex(receipt_id: str) -> str | None:
    digits = receipt_id.strip()
    if 0 < len(digits) <= _MAX_CONVERTED_DIGITS and digits.isascii() and digits.isdigit():
        return format(int(digits), "x")
    return None


def _as_decimal(receipt_id: str) -> str | None:
    digits = receipt_id.strip()
    if 0 < len(digits) <= _MAX_CONVERTED_DIGITS and _HEX.issuperset(digits):
        return str(int(digits, 16))
    return None


def first_key(receipt_id: str, relation: ReceiptIdRelation) -> str:
    """`lookup_keys`' first, alone: most receipts match it, and the others
    cost two base conversions."""
    if relation == "exact":
        return receipt_id
    if relation == "auto":
        return canonical(receipt_id)
    return lookup_keys(receipt_id, relation)[0]


def lookup_keys(receipt_id: str, relation: ReceiptIdRelation) -> tuple[str, ...]:
    """The receipt map keys a receipt id may be stored under, most likely first."""
    if relation == "exact":
        return (receipt_id,)
    if relation == "resp_hex_receipt_decimal":
        return (_as_hex(receipt_id) or canonical(receipt_id),)
    if relation == "resp_decimal_receipt_hex":
        converted = _as_decimal(receipt_id)
        return (canonical(converted) if converted else canonical(receipt_id),)
    keys = [canonical(receipt_id)]
    for converted in (_as_hex(receipt_id), _as_decimal(receipt_id)):
        if converted is not None:
            key = canonical(converted)
            if key not in keys:
                keys.append(key)
    return tuple(keys)


def same_handset(receipt_source: str, destination: str) -> bool:
    """Whether a receipt's source_addr may be the handset a message went to:
    the digits of one end the other's (national vs international forms), or
    the receipt names no address. Guards the matches that are not the
    receipt's first key: an id read in another base may be another message's."""
    theirs = "".join(c for c in receipt_source if c.isdigit())
    ours = "".join(c for c in destination if c.isdigit())
    if not theirs or not ours:
        return True
    return theirs.endswith(ours) or ours.endswith(theirs)
