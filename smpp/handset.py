"""What a handset shows of a text message: the coding it arrives in, how much
fits in each part, and the text of every part, cut where an operator cuts it.

A customer writing "Code: 1234 ✓" learns before sending that the tick makes
it UCS-2 (70 characters a part instead of 160), and where a long text breaks.
"""

from __future__ import annotations

import msgspec

from smpp.split import UDH_8BIT_REF_OCTETS, Concatenation, split, units_per_part
from smpp.text import Alphabet, DataCoding, alphabet_of, decode_text, encode_text

_NAMES = {Alphabet.GSM_7BIT: "GSM 7-bit", Alphabet.EIGHT_BIT: "8-bit", Alphabet.UCS2: "UCS-2"}


class HandsetView(msgspec.Struct, frozen=True, kw_only=True):
    coding: str
    """GSM 7-bit, Latin-1 (8-bit) or UCS-2, as the customer's support team names them."""
    data_coding: int
    units_per_part: int
    """Characters (GSM septets, octets, UCS-2 units) a part holds when the
    message is concatenated; a message of one part may hold 160/140/70."""
    parts: tuple[str, ...]


def handset_view(text: str, data_coding: int) -> HandsetView:
    """Raises what `encode_text` raises when ``data_coding`` cannot carry ``text``."""
    alphabet = alphabet_of(data_coding)
    payload = encode_text(text, data_coding)
    # SAR parts hold the bare text, cut at the sizes of 8-bit-reference UDH parts.
    chunks = split(payload, alphabet, Concatenation.SAR)
    name = "Latin-1 (8-bit)" if data_coding == DataCoding.LATIN_1 else _NAMES[alphabet]
    return HandsetView(
        coding=name,
        data_coding=data_coding,
        units_per_part=units_per_part(alphabet, UDH_8BIT_REF_OCTETS if len(chunks) > 1 else 0),
        parts=tuple(decode_text(chunk.short_message, data_coding) for chunk in chunks),
    )
