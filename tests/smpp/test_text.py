"""data_coding values, their alphabets and the text codecs behind them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp.gsm import UnencodableError
from smpp.text import (
    Alphabet,
    DataCoding,
    DefaultAlphabet,
    NotTextError,
    alphabet_of,
    decode_text,
    encode_text,
    is_latin1,
)

FAST = settings(max_examples=200, deadline=None)

TEXT_CODINGS = [0, 1, 3, 6, 7, 8, 0x10, 0x18, 0xF0, 0xC0, 0xD1, 0xE2]
OCTET_CODINGS = [2, 4, 5, 9, 10, 11, 13, 14, 15, 0x14, 0x24, 0x2C, 0x80, 0xBF, 0xF4, 0xF7]


def test_data_coding_values_follow_smpp_5_2_19() -> None:
    assert {coding.name: int(coding) for coding in DataCoding} == {
        "SMSC_DEFAULT": 0,
        "IA5": 1,
        "OCTET_UNSPECIFIED": 2,
        "LATIN_1": 3,
        "OCTET_UNSPECIFIED_4": 4,
        "JIS": 5,
        "CYRILLIC": 6,
        "LATIN_HEBREW": 7,
        "UCS2": 8,
        "PICTOGRAM": 9,
        "ISO_2022_JP": 10,
        "EXTENDED_KANJI": 13,
        "KS_C_5601": 14,
    }


@pytest.mark.parametrize(
    ("data_coding", "expected"),
    [
        (0x00, Alphabet.GSM_7BIT),
        (0x01, Alphabet.EIGHT_BIT),
        (0x02, Alphabet.EIGHT_BIT),
        (0x03, Alphabet.EIGHT_BIT),
        (0x08, Alphabet.UCS2),
        (0x0E, Alphabet.EIGHT_BIT),
        (0x10, Alphabet.GSM_7BIT),  # general coding, class 0 (flash), 7-bit
        (0x14, Alphabet.EIGHT_BIT),  # class 0, 8-bit data
        (0x18, Alphabet.UCS2),  # class 0 (flash), UCS-2
        (0x1C, Alphabet.EIGHT_BIT),  # reserved alphabet
        (0x28, Alphabet.EIGHT_BIT),  # compressed
        (0x48, Alphabet.UCS2),  # marked for automatic deletion, UCS-2
        (0x90, Alphabet.EIGHT_BIT),  # reserved group
        (0xC8, Alphabet.GSM_7BIT),  # message waiting, discard
        (0xD0, Alphabet.GSM_7BIT),  # message waiting, store, 7-bit
        (0xE0, Alphabet.UCS2),  # message waiting, store, UCS-2
        (0xF0, Alphabet.GSM_7BIT),  # class 0, 7-bit
        (0xF5, Alphabet.EIGHT_BIT),  # class 1, 8-bit data
    ],
)
def test_alphabet_of_smpp_and_gsm_scheme_values(data_coding: int, expected: Alphabet) -> None:
    assert alphabet_of(data_coding) is expected


def test_data_coding_zero_can_mean_latin1() -> None:
    latin1 = DefaultAlphabet.LATIN_1
    assert alphabet_of(0, default_alphabet=latin1) is Alphabet.EIGHT_BIT
    assert encode_text("café", 0, default_alphabet=latin1) == b"caf\xe9"
    assert decode_text(b"caf\xe9", 0, default_alphabet=latin1) == "café"
    assert encode_text("café", 0) == b"caf\x05"


@pytest.mark.parametrize("data_coding", [-1, 256])
def test_data_coding_out_of_range_is_rejected(data_coding: int) -> None:
    with pytest.raises(ValueError, match=r"0\.\.255"):
        alphabet_of(data_coding)


@pytest.mark.parametrize("data_coding", OCTET_CODINGS)
def test_octet_codings_have_no_text_codec(data_coding: int) -> None:
    with pytest.raises(NotTextError) as caught:
        encode_text("a", data_coding)
    assert caught.value.data_coding == data_coding
    with pytest.raises(NotTextError):
        decode_text(b"a", data_coding)


def test_ucs2_is_utf16be_with_surrogate_pairs() -> None:
    assert encode_text("A😀", DataCoding.UCS2) == bytes.fromhex("0041d83dde00")
    assert decode_text(bytes.fromhex("0041d83dde00"), DataCoding.UCS2) == "A😀"


def test_known_single_byte_charsets() -> None:
    assert encode_text("Жж", DataCoding.CYRILLIC) == bytes([0xB6, 0xD6])
    assert encode_text("א", DataCoding.LATIN_HEBREW) == bytes([0xE0])
    assert encode_text("ÿ", DataCoding.LATIN_1) == bytes([0xFF])
    assert decode_text(b"\x05", 0x10) == "é"


@pytest.mark.parametrize(
    ("text", "data_coding", "char", "index"),
    [
        ("ab€", DataCoding.LATIN_1, "€", 2),
        ("é", DataCoding.IA5, "é", 0),
        ("ok\ud800", DataCoding.UCS2, "\ud800", 2),
        ("Ж", DataCoding.SMSC_DEFAULT, "Ж", 0),
    ],
)
def test_encode_names_the_first_unencodable_character(
    text: str, data_coding: int, char: str, index: int
) -> None:
    with pytest.raises(UnencodableError) as caught:
        encode_text(text, data_coding)
    assert (caught.value.char, caught.value.index) == (char, index)


def test_malformed_ucs2_decodes_with_replacement_characters() -> None:
    assert decode_text(bytes.fromhex("0041d83d"), DataCoding.UCS2) == "A\ufffd"
    assert decode_text(bytes.fromhex("004100"), DataCoding.UCS2) == "A\ufffd"
    assert decode_text(b"\xff", DataCoding.IA5) == "\ufffd"


def test_is_latin1() -> None:
    assert is_latin1("")
    assert is_latin1("ÿ ascii")
    assert not is_latin1("€")


@FAST
@given(st.text(max_size=200))
def test_ucs2_round_trip_including_astral_characters(text: str) -> None:
    data = encode_text(text, DataCoding.UCS2)
    astral = sum(ord(char) > 0xFFFF for char in text)
    assert len(data) == 2 * (len(text) + astral)
    assert decode_text(data, DataCoding.UCS2) == text


@FAST
@given(st.text(st.characters(max_codepoint=0xFF), max_size=200))
def test_latin1_round_trip(text: str) -> None:
    data = encode_text(text, DataCoding.LATIN_1)
    assert data == bytes(ord(char) for char in text)
    assert decode_text(data, DataCoding.LATIN_1) == text


@FAST
@given(st.binary(max_size=300), st.sampled_from(TEXT_CODINGS))
def test_decode_never_raises_on_received_octets(data: bytes, data_coding: int) -> None:
    assert isinstance(decode_text(data, data_coding), str)
