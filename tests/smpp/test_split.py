"""Part counting, cheapest coding and splitting, checked against the rules themselves."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp import gsm
from smpp.gsm import UnencodableError
from smpp.split import (
    Concatenation,
    Part,
    PartNumbers,
    SplitError,
    cheapest_coding,
    count_parts,
    count_payload_parts,
    split,
    units_per_part,
)
from smpp.text import Alphabet, DataCoding, DefaultAlphabet, alphabet_of, encode_text

FAST = settings(max_examples=200, deadline=None)

EXTENSION = "\f^{}\\[~]|€"
GSM_CHARS = sorted(gsm.CHARACTERS)
# Texts heavy in extension characters, so escapes often sit on a part boundary.
GSM_TEXT = st.one_of(
    st.text(st.sampled_from(GSM_CHARS + list(EXTENSION) * 12), max_size=700),
    st.text(st.sampled_from("a ~^{"), min_size=140, max_size=500),  # ASCII fast path
)
UCS2_TEXT = st.text(
    st.one_of(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), st.just("😀")),
    max_size=400,
)
LATIN1_TEXT = st.text(st.characters(max_codepoint=0xFF), max_size=500)
# Septets with many escapes, including runs (escape-escape is a pair too).
ESCAPE_HEAVY_SEPTETS = st.binary(min_size=150, max_size=700).map(
    lambda data: bytes(b"\x1b\x1b\x1bA@"[octet % 5] for octet in data)
)

# Sizes written out from 3GPP TS 23.040 and the issue, not derived.
SINGLE = {Alphabet.GSM_7BIT: 160, Alphabet.EIGHT_BIT: 140, Alphabet.UCS2: 70}
WITH_8BIT_REF = {Alphabet.GSM_7BIT: 153, Alphabet.EIGHT_BIT: 134, Alphabet.UCS2: 67}
WITH_16BIT_REF = {Alphabet.GSM_7BIT: 152, Alphabet.EIGHT_BIT: 133, Alphabet.UCS2: 66}
OCTETS_PER_UNIT = {Alphabet.GSM_7BIT: 1, Alphabet.EIGHT_BIT: 1, Alphabet.UCS2: 2}
UDH_METHODS = [Concatenation.UDH_8BIT_REF, Concatenation.UDH_16BIT_REF]


def character_weights(text: str, alphabet: Alphabet) -> list[int]:
    """Units per character, straight from the rules."""
    if alphabet is Alphabet.GSM_7BIT:
        return [2 if char in EXTENSION else 1 for char in text]
    if alphabet is Alphabet.UCS2:
        return [2 if ord(char) > 0xFFFF else 1 for char in text]
    return [1] * len(text)


def reference_parts(weights: list[int], single: int, per_part: int) -> list[int]:
    """Greedy fill with indivisible characters; returns units per part."""
    if sum(weights) <= single:
        return [sum(weights)]
    parts = [0]
    for weight in weights:
        if parts[-1] + weight > per_part:
            parts.append(0)
        parts[-1] += weight
    return parts


def septet_units(septets: bytes) -> list[int]:
    """Units of a septet stream read from its start: an escape takes the next septet."""
    units = []
    index = 0
    while index < len(septets):
        width = 2 if septets[index] == 0x1B and index + 1 < len(septets) else 1
        units.append(width)
        index += width
    return units


def payload_of(part: Part, method: Concatenation) -> bytes:
    if method is Concatenation.MESSAGE_PAYLOAD:
        assert part.message_payload is not None
        return part.message_payload
    if part.udhi:
        return part.short_message[part.short_message[0] + 1 :]
    return part.short_message


def test_units_per_part_match_the_sizes_of_the_spec() -> None:
    for alphabet in Alphabet:
        assert units_per_part(alphabet) == SINGLE[alphabet]
        assert units_per_part(alphabet, 6) == WITH_8BIT_REF[alphabet]
        assert units_per_part(alphabet, 7) == WITH_16BIT_REF[alphabet]


@pytest.mark.parametrize(
    ("text", "data_coding", "parts"),
    [
        ("", 0, 1),
        ("a" * 160, 0, 1),
        ("a" * 161, 0, 2),
        ("a" * 306, 0, 2),
        ("a" * 307, 0, 3),
        ("€" * 80, 0, 1),
        ("€" * 81, 0, 2),
        ("a" * 152 + "€" + "a" * 7, 0, 2),
        ("a" * 152 + "{" + "a" * 152, 0, 3),  # 306 septets, but the escape moves
        ("a" * 151 + "{" + "a" * 153, 0, 2),
        ("é" * 140, 3, 1),
        ("é" * 141, 3, 2),
        ("é" * 268, 3, 2),
        ("é" * 269, 3, 3),
        ("a" * 70, 8, 1),
        ("a" * 71, 8, 2),
        ("a" * 134, 8, 2),
        ("a" * 135, 8, 3),
        ("😀" * 35, 8, 1),
        ("😀" * 36, 8, 2),
        ("😀" * 67, 8, 3),  # 33 pairs fit in 67 units: 134 units take 3 parts, not 2
        ("Ж" * 70, 8, 1),
        ("Ж" * 71, 8, 2),
    ],
)
def test_count_parts_examples(text: str, data_coding: int, parts: int) -> None:
    assert count_parts(text, data_coding) == parts


def test_count_parts_with_data_coding_zero_as_latin1() -> None:
    assert count_parts("é" * 141, 0, default_alphabet=DefaultAlphabet.LATIN_1) == 2


def test_count_parts_rejects_text_the_coding_cannot_carry() -> None:
    with pytest.raises(UnencodableError):
        count_parts("a" * 200 + "Ж", 0)
    with pytest.raises(UnencodableError):
        count_parts("Ж", 0)


@FAST
@given(GSM_TEXT)
def test_gsm_part_count_matches_the_rules(text: str) -> None:
    weights = character_weights(text, Alphabet.GSM_7BIT)
    expected = len(reference_parts(weights, 160, 153))
    assert count_parts(text, DataCoding.SMSC_DEFAULT) == expected
    assert count_parts(text, 0xF0) == expected
    assert count_payload_parts(gsm.encode(text), Alphabet.GSM_7BIT) == expected


@FAST
@given(UCS2_TEXT)
def test_ucs2_part_count_matches_the_rules(text: str) -> None:
    weights = character_weights(text, Alphabet.UCS2)
    assert count_parts(text, DataCoding.UCS2) == len(reference_parts(weights, 70, 67))


@FAST
@given(LATIN1_TEXT)
def test_latin1_part_count_matches_the_rules(text: str) -> None:
    assert count_parts(text, DataCoding.LATIN_1) == len(reference_parts([1] * len(text), 140, 134))


@FAST
@given(st.one_of(GSM_TEXT, UCS2_TEXT, LATIN1_TEXT), st.booleans())
def test_cheapest_coding_takes_fewest_parts(text: str, latin1_allowed: bool) -> None:
    chosen = cheapest_coding(text, latin1_allowed=latin1_allowed)
    allowed = [DataCoding.SMSC_DEFAULT, DataCoding.UCS2]
    if latin1_allowed:
        allowed.append(DataCoding.LATIN_1)
    else:
        assert chosen is not DataCoding.LATIN_1
    costs = {}
    for coding in allowed:
        try:
            costs[coding] = count_parts(text, coding)
        except UnencodableError:
            continue
    assert costs[chosen] == min(costs.values())
    if DataCoding.SMSC_DEFAULT in costs and costs[DataCoding.SMSC_DEFAULT] == costs[chosen]:
        assert chosen is DataCoding.SMSC_DEFAULT


def test_cheapest_coding_examples() -> None:
    assert cheapest_coding("Your code is 1234") is DataCoding.SMSC_DEFAULT
    assert cheapest_coding("10€ ΔΣ") is DataCoding.SMSC_DEFAULT
    assert cheapest_coding("{" * 100) is DataCoding.LATIN_1
    assert cheapest_coding("{" * 100, latin1_allowed=False) is DataCoding.SMSC_DEFAULT
    assert cheapest_coding("çà") is DataCoding.LATIN_1
    assert cheapest_coding("çà", latin1_allowed=False) is DataCoding.UCS2
    assert cheapest_coding("Код 1234") is DataCoding.UCS2
    assert cheapest_coding("OK 👍") is DataCoding.UCS2
    latin1 = DefaultAlphabet.LATIN_1
    assert cheapest_coding("çà", default_alphabet=latin1) is DataCoding.SMSC_DEFAULT
    assert cheapest_coding("Δ", default_alphabet=latin1) is DataCoding.UCS2


def check_parts(
    parts: list[Part], payload: bytes, alphabet: Alphabet, method: Concatenation, reference: int
) -> None:
    """Every property a split must have, for unpacked parts."""
    assert b"".join(payload_of(part, method) for part in parts) == payload
    if len(parts) == 1:
        part = parts[0]
        assert not part.udhi and part.sar is None
        if method is not Concatenation.MESSAGE_PAYLOAD:
            assert len(payload) <= SINGLE[alphabet] * OCTETS_PER_UNIT[alphabet]
        return
    sizes = WITH_16BIT_REF if method is Concatenation.UDH_16BIT_REF else WITH_8BIT_REF
    for sequence, part in enumerate(parts, start=1):
        body = payload_of(part, method)
        assert 0 < len(body) <= sizes[alphabet] * OCTETS_PER_UNIT[alphabet]
        numbers = PartNumbers(reference, len(parts), sequence)
        if method is Concatenation.SAR:
            assert part.sar == numbers and not part.udhi
        else:
            assert part.udhi and part.sar is None
            header = part.short_message[: part.short_message[0] + 1]
            if method is Concatenation.UDH_8BIT_REF:
                assert header == bytes([5, 0, 3, reference, len(parts), sequence])
            else:
                ref = reference.to_bytes(2, "big")
                assert header == bytes([6, 8, 4, *ref, len(parts), sequence])
        if alphabet is Alphabet.UCS2:
            body.decode("utf-16-be")  # strict: a split surrogate pair raises


@FAST
@given(GSM_TEXT, st.sampled_from(list(Concatenation)), st.integers(0, 255))
def test_gsm_split_rejoins_and_never_splits_an_escape(
    text: str, method: Concatenation, reference: int
) -> None:
    payload = gsm.encode(text)
    parts = split(payload, Alphabet.GSM_7BIT, method, reference=reference)
    check_parts(parts, payload, Alphabet.GSM_7BIT, method, reference)
    if method is not Concatenation.MESSAGE_PAYLOAD:
        assert len(parts) == count_parts(text) or method is Concatenation.UDH_16BIT_REF
        assert "".join(gsm.decode(payload_of(part, method)) for part in parts) == text


@FAST
@given(UCS2_TEXT, st.sampled_from(list(Concatenation)), st.integers(0, 65535))
def test_ucs2_split_rejoins_and_never_splits_a_surrogate_pair(
    text: str, method: Concatenation, reference: int
) -> None:
    if method is Concatenation.UDH_8BIT_REF:
        reference %= 256
    payload = encode_text(text, DataCoding.UCS2)
    parts = split(payload, Alphabet.UCS2, method, reference=reference)
    check_parts(parts, payload, Alphabet.UCS2, method, reference)
    if method is Concatenation.UDH_16BIT_REF:
        weights = character_weights(text, Alphabet.UCS2)
        assert len(parts) == len(reference_parts(weights, 70, 66))


@FAST
@given(st.binary(max_size=1500), st.sampled_from(list(Concatenation)))
def test_binary_split_rejoins(payload: bytes, method: Concatenation) -> None:
    parts = split(payload, Alphabet.EIGHT_BIT, method, reference=200)
    check_parts(parts, payload, Alphabet.EIGHT_BIT, method, 200)
    if method is not Concatenation.MESSAGE_PAYLOAD:
        sizes = WITH_16BIT_REF if method is Concatenation.UDH_16BIT_REF else WITH_8BIT_REF
        expected = len(reference_parts([1] * len(payload), 140, sizes[Alphabet.EIGHT_BIT]))
        assert len(parts) == expected
        assert all(len(part.short_message) <= 140 for part in parts)


@FAST
@given(ESCAPE_HEAVY_SEPTETS, st.sampled_from([*UDH_METHODS, Concatenation.SAR]))
def test_escape_runs_are_split_only_between_units(payload: bytes, method: Concatenation) -> None:
    parts = split(payload, Alphabet.GSM_7BIT, method, reference=1)
    unit_ends = set()
    position = 0
    for width in septet_units(payload):
        position += width
        unit_ends.add(position)
    position = 0
    for part in parts:
        position += len(payload_of(part, method))
        assert position in unit_ends or position == 0
    sizes = WITH_16BIT_REF if method is Concatenation.UDH_16BIT_REF else WITH_8BIT_REF
    per_part = sizes[Alphabet.GSM_7BIT]
    assert len(parts) == len(reference_parts(septet_units(payload), 160, per_part))
    assert count_payload_parts(payload, Alphabet.GSM_7BIT) == len(
        reference_parts(septet_units(payload), 160, 153)
    )


@FAST
@given(GSM_TEXT, st.sampled_from(list(Concatenation)))
def test_packed_gsm_parts_fit_140_octets_and_unpack(text: str, method: Concatenation) -> None:
    payload = gsm.encode(text)
    unpacked = split(payload, Alphabet.GSM_7BIT, method, reference=9)
    packed = split(payload, Alphabet.GSM_7BIT, method, reference=9, packed=True)
    assert len(packed) == len(unpacked)
    for plain, part in zip(unpacked, packed, strict=True):
        assert (part.udhi, part.sar) == (plain.udhi, plain.sar)
        septets = payload_of(plain, method)
        header_octets = part.short_message[0] + 1 if part.udhi else 0
        fill = gsm.fill_bits_after(header_octets) if part.udhi else 0
        body = payload_of(part, method)
        assert len(body) == (7 * len(septets) + fill + 7) // 8
        assert gsm.unpack(body, len(septets), fill) == septets
        if method is not Concatenation.MESSAGE_PAYLOAD:
            assert len(part.short_message) <= 140
            assert part.short_message[:header_octets] == plain.short_message[:header_octets]


def test_split_golden_udh_parts_keep_the_escape_with_its_septet() -> None:
    payload = gsm.encode("a" * 152 + "€" + "b" * 9)
    parts = split(payload, Alphabet.GSM_7BIT, Concatenation.UDH_8BIT_REF, reference=42)
    assert [part.short_message[:6].hex() for part in parts] == ["0500032a0201", "0500032a0202"]
    assert parts[0].short_message[6:] == b"a" * 152
    assert parts[1].short_message[6:] == b"\x1be" + b"b" * 9
    parts = split(payload, Alphabet.GSM_7BIT, Concatenation.UDH_16BIT_REF, reference=0x1234)
    assert [part.short_message[:7].hex() for part in parts] == ["06080412340201", "06080412340202"]
    assert parts[1].short_message[7:] == b"\x1be" + b"b" * 9


def test_split_golden_ucs2_keeps_the_surrogate_pair_whole() -> None:
    payload = encode_text("a" * 66 + "😀" + "bcd", DataCoding.UCS2)
    parts = split(payload, Alphabet.UCS2, Concatenation.UDH_8BIT_REF, reference=1)
    assert [len(part.short_message) - 6 for part in parts] == [132, 10]
    assert parts[1].short_message[6:] == bytes.fromhex("d83dde00006200630064")


@pytest.mark.parametrize(
    ("septets", "first_part"),
    [
        (b"A" * 151 + b"\x1b\x1b" + b"A" * 10, 153),  # escape-escape pair fills the part
        (b"A" * 152 + b"\x1b\x1b" + b"A" * 10, 152),  # the pair moves to part two
        (b"A" * 150 + b"\x1b" * 3 + b"A" * 10, 152),  # ESC ESC | ESC A
        (b"A" * 149 + b"\x1b" * 4 + b"A" * 10, 153),
    ],
)
def test_escape_runs_on_the_boundary(septets: bytes, first_part: int) -> None:
    parts = split(septets, Alphabet.GSM_7BIT, Concatenation.SAR)
    assert len(parts[0].short_message) == first_part


def test_message_payload_is_one_part_with_an_empty_short_message() -> None:
    payload = gsm.encode("x" * 1000)
    [part] = split(payload, Alphabet.GSM_7BIT, Concatenation.MESSAGE_PAYLOAD)
    assert part == Part(b"", message_payload=payload)


def test_short_message_is_one_plain_part_whatever_the_method() -> None:
    for method in (Concatenation.UDH_8BIT_REF, Concatenation.UDH_16BIT_REF, Concatenation.SAR):
        assert split(b"hi", Alphabet.EIGHT_BIT, method, reference=3) == [Part(b"hi")]


@pytest.mark.parametrize(
    ("method", "reference"),
    [
        (Concatenation.UDH_8BIT_REF, 256),
        (Concatenation.UDH_8BIT_REF, -1),
        (Concatenation.UDH_16BIT_REF, 65536),
        (Concatenation.SAR, 65536),
    ],
)
def test_reference_out_of_range_is_rejected(method: Concatenation, reference: int) -> None:
    with pytest.raises(SplitError, match="reference"):
        split(b"x" * 200, Alphabet.EIGHT_BIT, method, reference=reference)


def test_more_than_255_parts_is_rejected() -> None:
    fits = b"x" * (134 * 255)
    assert len(split(fits, Alphabet.EIGHT_BIT, Concatenation.SAR)) == 255
    with pytest.raises(SplitError, match="256 parts"):
        split(fits + b"x", Alphabet.EIGHT_BIT, Concatenation.SAR)


def test_split_rejects_bad_input() -> None:
    with pytest.raises(SplitError, match="odd length"):
        split(b"\x00\x41\x00", Alphabet.UCS2, Concatenation.SAR)
    with pytest.raises(SplitError, match="odd length"):
        count_payload_parts(b"\x00", Alphabet.UCS2)
    with pytest.raises(SplitError, match="packed"):
        split(b"ab", Alphabet.EIGHT_BIT, Concatenation.SAR, packed=True)
    with pytest.raises(SplitError, match="65535"):
        split(b"x" * 65536, Alphabet.EIGHT_BIT, Concatenation.MESSAGE_PAYLOAD)
    assert isinstance(SplitError("x"), ValueError)


def test_flash_ucs2_coding_splits_as_ucs2() -> None:
    payload = encode_text("Ж" * 71, 0x18)
    parts = split(payload, alphabet_of(0x18), Concatenation.UDH_8BIT_REF, reference=1)
    assert [len(part.short_message) - 6 for part in parts] == [134, 8]
