"""GSM 03.38 default alphabet: tables, strict encoding, lenient decoding, 7-bit packing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp import gsm
from smpp.errors import SmppError

FAST = settings(max_examples=200, deadline=None)

GSM_TEXT = st.text(st.sampled_from(sorted(gsm.CHARACTERS)), max_size=400)
SEPTETS = st.binary(max_size=300).map(lambda data: bytes(octet & 0x7F for octet in data))

# Code points read off 3GPP TS 23.038 §6.2.1 and §6.2.1.1 by hand.
SPEC_BASIC = {
    "@": 0x00,
    "£": 0x01,
    "$": 0x02,
    "è": 0x04,
    "Ç": 0x09,
    "\n": 0x0A,
    "\r": 0x0D,
    "Δ": 0x10,
    "_": 0x11,
    "Ξ": 0x1A,
    "É": 0x1F,
    " ": 0x20,
    "¤": 0x24,
    "0": 0x30,
    "¡": 0x40,
    "A": 0x41,
    "§": 0x5F,
    "¿": 0x60,
    "a": 0x61,
    "ü": 0x7E,
    "à": 0x7F,
}
SPEC_EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}


def reference_decode(septets: bytes) -> str:
    """Left to right, one unit at a time, as §6.2.1.1 reads."""
    out = []
    index = 0
    while index < len(septets):
        octet = septets[index]
        if octet > 0x7F:
            out.append("\ufffd")
        elif octet != 0x1B:
            out.append(gsm.BASIC_TABLE[octet])
        elif index + 1 == len(septets) or septets[index + 1] == 0x1B:
            out.append(" ")
            index += 1
        else:
            code = septets[index + 1]
            index += 1
            if code > 0x7F:
                out.append("\ufffd")
            else:
                out.append(gsm.EXTENSION_TABLE.get(code, gsm.BASIC_TABLE[code]))
        index += 1
    return "".join(out)


def reference_pack(septets: bytes, fill_bits: int) -> bytes:
    """Packing as one little-endian integer: septet i sits at bit 7*i + fill."""
    value = sum(septet << (7 * index + fill_bits) for index, septet in enumerate(septets))
    return value.to_bytes((7 * len(septets) + fill_bits + 7) // 8, "little")


@pytest.mark.parametrize(("char", "septet"), SPEC_BASIC.items())
def test_basic_table_matches_the_spec(char: str, septet: int) -> None:
    assert gsm.encode(char) == bytes([septet])
    assert gsm.decode(bytes([septet])) == char


@pytest.mark.parametrize(("char", "septet"), SPEC_EXTENSION.items())
def test_extension_characters_are_escape_pairs(char: str, septet: int) -> None:
    assert gsm.encode(char) == bytes([0x1B, septet])
    assert gsm.decode(bytes([0x1B, septet])) == char
    assert gsm.septet_count(char) == 2


def test_alphabet_has_127_basic_and_10_extension_characters() -> None:
    assert len(gsm.CHARACTERS) == 137
    assert len(set(gsm.BASIC_TABLE)) == 128


@pytest.mark.parametrize(
    ("text", "char", "index"),
    [("abc`d", "`", 3), ("Привет", "П", 0), ("ok\tok", "\t", 2), ("x€ç", "ç", 2)],
)
def test_encode_names_the_first_unencodable_character(text: str, char: str, index: int) -> None:
    with pytest.raises(gsm.UnencodableError) as caught:
        gsm.encode(text)
    assert (caught.value.char, caught.value.index) == (char, index)
    assert f"index {index}" in str(caught.value)
    assert isinstance(caught.value, SmppError)
    assert isinstance(caught.value, ValueError)
    assert not gsm.is_encodable(text)
    with pytest.raises(gsm.UnencodableError):
        gsm.septet_count(text)


def test_unknown_escape_decodes_as_the_basic_character() -> None:
    # §6.2.1.1: a code the extension table lacks shows the basic table's character.
    assert gsm.decode(bytes([0x1B, 0x41])) == "A"
    assert gsm.decode(bytes([0x1B, 0x00, 0x61])) == "@a"


def test_escape_escape_and_a_trailing_escape_decode_as_space() -> None:
    assert gsm.decode(bytes([0x61, 0x1B, 0x1B, 0x28])) == "a ("
    assert gsm.decode(bytes([0x61, 0x1B])) == "a "


def test_octets_above_7f_decode_as_replacement_character() -> None:
    assert gsm.decode(bytes([0x61, 0xE9, 0x1B, 0xFF])) == "a\ufffd\ufffd"


def test_hellohello_packs_to_the_well_known_vector() -> None:
    packed = gsm.pack(gsm.encode("hellohello"))
    assert packed == bytes.fromhex("e8329bfd4697d9ec37")
    assert gsm.decode(gsm.unpack(packed)) == "hellohello"


def test_hello_packs_to_the_well_known_vector() -> None:
    assert gsm.pack(gsm.encode("Hello")) == bytes.fromhex("c8329bfd06")


@pytest.mark.parametrize(
    ("text", "user_data"),
    [
        ("ABCDEFG", "82c221b1683c02"),
        ("HIJKLMNOP", "9049e592d9743ea1"),
        ("QRSTUVWXYZ", "a2d229b56abd62b35a"),
    ],
)
def test_packed_after_a_6_octet_udh_matches_handset_captures(text: str, user_data: str) -> None:
    # Parts of a three-part message received by a handset (UDH 05 00 03 03 03 0n).
    assert gsm.pack(gsm.encode(text), fill_bits=gsm.fill_bits_after(6)) == bytes.fromhex(user_data)
    assert gsm.decode(gsm.unpack(bytes.fromhex(user_data), len(text), fill_bits=1)) == text


def test_fill_bits_after_concatenation_headers() -> None:
    assert gsm.fill_bits_after(6) == 1
    assert gsm.fill_bits_after(7) == 0
    assert gsm.fill_bits_after(0) == 0
    assert [gsm.fill_bits_after(n) for n in range(1, 8)] == [6, 5, 4, 3, 2, 1, 0]


def test_pack_after_a_udh_shifts_by_the_fill_bits() -> None:
    # One fill bit after a 6-octet UDH: "A" (0x41) lands at bit 1.
    assert gsm.pack(b"\x41", fill_bits=1) == bytes([0x82])


def test_pack_and_unpack_validate_their_arguments() -> None:
    with pytest.raises(ValueError, match="not a septet"):
        gsm.pack(b"\x80")
    with pytest.raises(ValueError, match="fill_bits"):
        gsm.pack(b"a", fill_bits=7)
    with pytest.raises(ValueError, match="fill_bits"):
        gsm.unpack(b"a", fill_bits=-1)
    with pytest.raises(ValueError, match="hold 1 septets"):
        gsm.unpack(b"\x41", septet_count=2)
    with pytest.raises(ValueError, match="header_octets"):
        gsm.fill_bits_after(-1)


def test_unpack_of_nothing_is_nothing() -> None:
    assert gsm.unpack(b"") == b""
    assert gsm.unpack(b"\x00", fill_bits=2) == b""


@FAST
@given(GSM_TEXT)
def test_encode_decode_round_trip(text: str) -> None:
    septets = gsm.encode(text)
    assert gsm.decode(septets) == text
    assert gsm.is_encodable(text)
    assert gsm.septet_count(text) == len(septets)
    assert len(septets) == len(text) + sum(char in SPEC_EXTENSION for char in text)


@FAST
@given(st.binary(max_size=400))
def test_decode_of_any_octets_never_raises_and_follows_the_spec(data: bytes) -> None:
    assert gsm.decode(data) == reference_decode(data)


@FAST
@given(st.lists(st.sampled_from([0x1B, 0x1B, 0x65, 0x28, 0x41, 0x14, 0x0A, 0x0D, 0xFF])))
def test_escapes_decode_as_the_spec_reads_them(septets: list[int]) -> None:
    assert gsm.decode(bytes(septets)) == reference_decode(bytes(septets))


@FAST
@given(st.text(max_size=50))
def test_is_encodable_agrees_with_the_character_set(text: str) -> None:
    assert gsm.is_encodable(text) == all(char in gsm.CHARACTERS for char in text)


@FAST
@given(SEPTETS, st.integers(0, 6))
def test_pack_matches_the_integer_reference_and_round_trips(septets: bytes, fill: int) -> None:
    packed = gsm.pack(septets, fill)
    assert packed == reference_pack(septets, fill)
    assert gsm.unpack(packed, len(septets), fill) == septets


@FAST
@given(SEPTETS, st.integers(0, 6))
def test_unpack_without_a_count_reads_every_whole_septet(septets: bytes, fill: int) -> None:
    unpacked = gsm.unpack(gsm.pack(septets, fill), fill_bits=fill)
    assert unpacked[: len(septets)] == septets
    # The only ambiguity: 7 or more spare bits read as one extra "@" (0x00).
    assert unpacked[len(septets) :] in (b"", b"\x00")
