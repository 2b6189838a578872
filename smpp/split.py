"""Counting the parts of a long message and splitting it into them.

One short message carries at most 140 octets of user data (3GPP TS 23.040
§9.2.3.24): 160 GSM septets, 140 octets or 70 UCS-2 units. A longer message
is concatenated; a user data header (UDH) then takes 6 octets with an 8-bit
reference (IEI 0x00, §9.2.3.24.1) or 7 with a 16-bit one (IEI 0x08,
§9.2.3.24.8), leaving 153/134/67 or 152/133/66. SMPP can instead number the
parts with the SAR TLVs (SMPP 3.4 §5.3.2.22-24), or send the whole message in
one message_payload TLV (§5.3.2.32) for the SMSC to split.

A part never ends between an escape and its extension character, nor between
the two halves of a UTF-16 surrogate pair, so each part decodes on its own.
"""

from __future__ import annotations

from enum import Enum

import msgspec

from smpp import gsm
from smpp.errors import SmppError
from smpp.text import (
    Alphabet,
    DataCoding,
    DefaultAlphabet,
    alphabet_of,
    encode_text,
    is_latin1,
)

USER_DATA_OCTETS = 140
"""Maximum TP-User-Data length (3GPP TS 23.040 §9.2.3.16)."""
UDH_8BIT_REF_OCTETS = 6
"""UDHL, IEI 0x00, IEDL 3, reference, total, sequence."""
UDH_16BIT_REF_OCTETS = 7
"""UDHL, IEI 0x08, IEDL 4, reference (2 octets), total, sequence."""
MAX_PARTS = 255
"""The total is one octet in the UDH and in sar_total_segments."""
MAX_MESSAGE_PAYLOAD_OCTETS = 0xFFFF
"""A TLV length is two octets (SMPP 3.4 §3.2.4)."""


def units_per_part(alphabet: Alphabet, header_octets: int = 0) -> int:
    """Units (septets, octets or UCS-2 units) that fit beside a UDH of
    ``header_octets`` octets: 160/153/152, 140/134/133, 70/67/66."""
    return (USER_DATA_OCTETS - header_octets) * 8 // alphabet


def _octets_per_unit(alphabet: Alphabet) -> int:
    """As SMPP carries a unit: GSM septets unpacked, one per octet."""
    return 2 if alphabet is Alphabet.UCS2 else 1


_PART_OCTETS = {
    (alphabet, header_octets): units_per_part(alphabet, header_octets) * _octets_per_unit(alphabet)
    for alphabet in Alphabet
    for header_octets in (0, UDH_8BIT_REF_OCTETS, UDH_16BIT_REF_OCTETS)
}
"""Octets of text per part, by alphabet and UDH length."""
_SINGLE_PART_OCTETS = {alphabet: _PART_OCTETS[alphabet, 0] for alphabet in Alphabet}
"""The same without a UDH, looked up by the alphabet alone: every message
asks, and a tuple key costs twice the lookup."""
_SEQUENCE_OCTETS = [bytes((sequence,)) for sequence in range(MAX_PARTS + 1)]
_GSM_SINGLE_SEPTETS = units_per_part(Alphabet.GSM_7BIT)
_GSM_CONCAT_SEPTETS = units_per_part(Alphabet.GSM_7BIT, UDH_8BIT_REF_OCTETS)
_UCS2_SINGLE_UNITS = units_per_part(Alphabet.UCS2)
_UCS2_CONCAT_UNITS = units_per_part(Alphabet.UCS2, UDH_8BIT_REF_OCTETS)


class Concatenation(Enum):
    """How a message longer than one part is carried."""

    UDH_8BIT_REF = "udh-8bit-ref"
    UDH_16BIT_REF = "udh-16bit-ref"
    SAR = "sar"
    MESSAGE_PAYLOAD = "message-payload"


# Reading an Enum member off its class costs about 0.1 µs on Python 3.11;
# the functions below run for every message, so they read these instead.
_GSM_7BIT = Alphabet.GSM_7BIT
_UCS2 = Alphabet.UCS2
_UDH_8BIT_REF = Concatenation.UDH_8BIT_REF
_UDH_16BIT_REF = Concatenation.UDH_16BIT_REF
_SAR = Concatenation.SAR
_MESSAGE_PAYLOAD = Concatenation.MESSAGE_PAYLOAD


class SplitError(SmppError, ValueError):
    """The message cannot be split as asked (too long, malformed UCS-2, a
    reference out of range)."""


class PartNumbers(msgspec.Struct, frozen=True):
    """Where a part belongs: the message's reference, its number of parts and
    this part's 1-based sequence number (a UDH concatenation element, or the
    SAR TLVs sar_msg_ref_num, sar_total_segments, sar_segment_seqnum)."""

    reference: int
    total: int
    sequence: int


class Part(msgspec.Struct, frozen=True):
    """One submit_sm's worth of a message.

    ``short_message`` has the UDH in front for the UDH methods, and then
    ``udhi`` says esm_class bit 0x40 must be set (SMPP 3.4 §5.2.12). ``sar``
    holds the SAR TLV values for the SAR method. For the message_payload
    method ``short_message`` is empty (sm_length 0, §5.2.21) and
    ``message_payload`` holds the whole message.
    """

    short_message: bytes
    udhi: bool = False
    sar: PartNumbers | None = None
    message_payload: bytes | None = None


def _ends_inside_escape(payload: bytes, start: int, end: int) -> bool:
    """Whether ``payload[end - 1]`` is an escape waiting for its septet.

    Units start after every non-escape septet, so in a run of escapes the
    pairs begin at the run's first one; an odd run ends on an open escape.
    """
    run = 0
    while end - run > start and payload[end - run - 1] == gsm.ESCAPE:
        run += 1
    return run % 2 == 1


def _part_ends(payload: bytes, alphabet: Alphabet, header_octets: int) -> list[int]:
    """Offsets where each part ends, filling parts greedily (which gives the
    fewest parts) and stepping back one unit rather than cut a character."""
    octets = _PART_OCTETS[alphabet, header_octets]
    ends = []
    start = 0
    while len(payload) - start > octets:
        end = start + octets
        if alphabet is _GSM_7BIT:
            if _ends_inside_escape(payload, start, end):
                end -= 1
        elif alphabet is _UCS2 and 0xD8 <= payload[end - 2] <= 0xDB:
            end -= 2
        ends.append(end)
        start = end
    ends.append(len(payload))
    return ends


def _odd_length_error(payload: bytes) -> SplitError:
    """UCS-2 data must be whole units; callers test inline, as every message
    passes the test and a call costs more than it does."""
    return SplitError(f"UCS-2 data has an odd length ({len(payload)} octets)")


def count_payload_parts(payload: bytes, alphabet: Alphabet) -> int:
    """Parts of an encoded message, as an operator bills them: the sizes of
    8-bit-reference concatenation, which SAR parts and an SMSC splitting a
    message_payload use too."""
    if alphabet is _UCS2 and len(payload) % 2:
        raise _odd_length_error(payload)
    if len(payload) <= _SINGLE_PART_OCTETS[alphabet]:
        return 1
    return len(_part_ends(payload, alphabet, UDH_8BIT_REF_OCTETS))


def count_parts(
    text: str,
    data_coding: int = DataCoding.SMSC_DEFAULT,
    *,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM,
) -> int:
    """Parts ``text`` takes in ``data_coding`` (see `count_payload_parts`).

    Raises `UnencodableError` if the coding cannot carry the text,
    `NotTextError` if it carries octets.
    """
    text_alphabet = alphabet_of(data_coding, default_alphabet=default_alphabet)
    if text_alphabet is _GSM_7BIT:
        # Counting septets is cheap for ASCII and saves encoding; text of
        # other characters longer than one part is going to be encoded anyway.
        if len(text) <= _GSM_SINGLE_SEPTETS or text.isascii():
            septets = gsm.septet_count(text)
            if septets <= _GSM_SINGLE_SEPTETS:
                return 1
            if septets == len(text):
                return -(-septets // _GSM_CONCAT_SEPTETS)
    elif text_alphabet is _UCS2 and text.isascii():
        units = len(text)
        return 1 if units <= _UCS2_SINGLE_UNITS else -(-units // _UCS2_CONCAT_UNITS)
    payload = encode_text(text, data_coding, default_alphabet=default_alphabet)
    return count_payload_parts(payload, text_alphabet)


def cheapest_coding(
    text: str,
    *,
    latin1_allowed: bool = True,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM,
) -> DataCoding:
    """The coding that sends ``text`` in the fewest parts.

    GSM 7-bit (data_coding 0) unless Latin-1 takes fewer parts, which happens
    with many extension characters (two septets each); ties go to
    data_coding 0, which every SMSC takes. Latin-1 (3) only where the route
    accepts it; UCS-2 (8) for everything else. When data_coding 0 means
    Latin-1 on the link, Latin-1 text goes as 0.
    """
    latin1 = is_latin1(text)
    if default_alphabet is DefaultAlphabet.LATIN_1:
        if latin1:
            return DataCoding.SMSC_DEFAULT
    elif gsm.is_encodable(text):
        # Without extension characters GSM never takes more parts than Latin-1.
        if latin1 and latin1_allowed and gsm.septet_count(text) > len(text):
            gsm_parts = count_parts(text)
            if count_parts(text, DataCoding.LATIN_1) < gsm_parts:
                return DataCoding.LATIN_1
        return DataCoding.SMSC_DEFAULT
    if latin1 and latin1_allowed:
        return DataCoding.LATIN_1
    return DataCoding.UCS2


def _reference_error(method: Concatenation, reference: int) -> SplitError:
    highest = 0xFF if method is _UDH_8BIT_REF else 0xFFFF
    return SplitError(f"a {method.value} reference must be 0..{highest}, not {reference}")


def _udh_prefix(method: Concatenation, reference: int, total: int) -> bytes:
    """The concatenation UDH up to the sequence number, its last octet
    (3GPP TS 23.040 §9.2.3.24.1 and .8)."""
    if method is _UDH_8BIT_REF:
        return bytes((5, 0x00, 3, reference, total))
    return bytes((6, 0x08, 4, reference >> 8, reference & 0xFF, total))


def split(
    payload: bytes,
    alphabet: Alphabet,
    method: Concatenation,
    *,
    reference: int = 0,
    packed: bool = False,
) -> list[Part]:
    """Cut an encoded message into the parts ``method`` sends it in.

    A message that fits one part is one plain part whatever the method.
    ``reference`` (0..255 for an 8-bit UDH, else 0..65535) is the caller's,
    who must not reuse it for the same destination while parts are in
    flight. ``packed`` packs GSM septets to 7 bits, with the fill bits a UDH
    needs; SMPP normally carries them unpacked.
    """
    if alphabet is _UCS2 and len(payload) % 2:
        raise _odd_length_error(payload)
    if packed and alphabet is not _GSM_7BIT:
        raise SplitError(f"only GSM 7-bit text can be packed, not {alphabet.name}")
    if method is _MESSAGE_PAYLOAD:
        data = gsm.pack(payload) if packed else payload
        if len(data) > MAX_MESSAGE_PAYLOAD_OCTETS:
            raise SplitError(f"{len(data)} octets exceed a message_payload's 65535")
        return [Part(b"", message_payload=data)]
    if not 0 <= reference <= (0xFF if method is _UDH_8BIT_REF else 0xFFFF):
        raise _reference_error(method, reference)
    if len(payload) <= _SINGLE_PART_OCTETS[alphabet]:
        return [Part(gsm.pack(payload) if packed else payload)]
    # SAR parts carry no UDH but take the 8-bit UDH sizes, so that an SMSC
    # converting them to UDH parts for the handset needs not split again.
    header_octets = UDH_16BIT_REF_OCTETS if method is _UDH_16BIT_REF else UDH_8BIT_REF_OCTETS
    ends = _part_ends(payload, alphabet, header_octets)
    total = len(ends)
    if total > MAX_PARTS:
        raise SplitError(f"the message needs {total} parts; at most {MAX_PARTS} can be sent")
    chunks = [payload[start:end] for start, end in zip([0, *ends], ends, strict=False)]
    if packed:
        fill_bits = 0 if method is _SAR else gsm.fill_bits_after(header_octets)
        chunks = [gsm.pack(chunk, fill_bits) for chunk in chunks]
    if method is _SAR:
        return [
            Part(chunk, sar=PartNumbers(reference, total, sequence))
            for sequence, chunk in enumerate(chunks, start=1)
        ]
    prefix = _udh_prefix(method, reference, total)
    return [
        Part(prefix + _SEQUENCE_OCTETS[sequence] + chunk, udhi=True)
        for sequence, chunk in enumerate(chunks, start=1)
    ]
