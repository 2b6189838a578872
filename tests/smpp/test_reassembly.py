"""UDH parsing and the bounded, clock-free reassembly of received parts."""

from __future__ import annotations

from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp import gsm
from smpp.reassembly import (
    AddResult,
    Incomplete,
    InformationElement,
    Reassembled,
    Reassembler,
    ReassemblyError,
    UdhError,
    concatenation_numbers,
    parse_udh,
)
from smpp.split import Concatenation, PartNumbers, split
from smpp.text import Alphabet

FAST = settings(max_examples=200, deadline=None)

Key = tuple[str, str]


def test_parse_udh_with_an_8bit_reference() -> None:
    elements, payload = parse_udh(bytes.fromhex("0500032a0302") + b"hello")
    assert elements == (InformationElement(0x00, bytes([0x2A, 3, 2])),)
    assert payload == b"hello"
    assert concatenation_numbers(elements) == PartNumbers(0x2A, 3, 2)


def test_parse_udh_with_a_16bit_reference() -> None:
    elements, payload = parse_udh(bytes.fromhex("06080412340201") + b"x")
    assert concatenation_numbers(elements) == PartNumbers(0x1234, 2, 1)
    assert payload == b"x"


def test_other_elements_are_kept_and_tolerated() -> None:
    # Application port addressing (IEI 0x05, 16-bit ports) beside the concatenation.
    udh = bytes.fromhex("0b" + "0504158a0000" + "0003070201")
    elements, payload = parse_udh(udh + b"\x01\x02")
    assert [element.iei for element in elements] == [0x05, 0x00]
    assert elements[0].data == bytes.fromhex("158a0000")
    assert concatenation_numbers(elements) == PartNumbers(7, 2, 1)
    assert payload == b"\x01\x02"


def test_header_only_and_empty_header() -> None:
    assert parse_udh(b"\x00abc") == ((), b"abc")
    assert parse_udh(bytes.fromhex("050003010101")) == (
        (InformationElement(0, b"\x01\x01\x01"),),
        b"",
    )


@pytest.mark.parametrize(
    ("user_data", "message"),
    [
        (b"", "empty"),
        (bytes.fromhex("05000301"), "UDHL 5 exceeds"),
        (bytes.fromhex("0100"), "cut by the UDHL"),
        (bytes.fromhex("03000301ff"), "runs past the UDHL"),
    ],
)
def test_malformed_udh_is_rejected(user_data: bytes, message: str) -> None:
    with pytest.raises(UdhError, match=message):
        parse_udh(user_data)


@pytest.mark.parametrize(
    "elements",
    [
        [InformationElement(0x00, bytes([1, 0, 0]))],  # total 0
        [InformationElement(0x00, bytes([1, 2, 0]))],  # sequence 0
        [InformationElement(0x00, bytes([1, 2, 3]))],  # sequence above total
        [InformationElement(0x00, bytes([1, 2]))],  # wrong length
        [InformationElement(0x08, bytes([1, 2, 3]))],  # wrong length
        [InformationElement(0x05, bytes([1, 2, 1, 2]))],  # not a concatenation
        [],
    ],
)
def test_invalid_concatenation_elements_are_ignored(elements: list[InformationElement]) -> None:
    # 3GPP TS 23.040 §9.2.3.24.1: the receiving entity ignores such an element.
    assert concatenation_numbers(elements) is None


def test_the_last_concatenation_element_counts() -> None:
    elements = [
        InformationElement(0x00, bytes([1, 2, 1])),
        InformationElement(0x08, bytes([0, 9, 3, 3])),
        InformationElement(0x00, bytes([5, 0, 0])),  # ignored
    ]
    assert concatenation_numbers(elements) == PartNumbers(9, 3, 3)


def test_parts_in_order_make_a_message() -> None:
    reassembler: Reassembler[Key] = Reassembler(max_pending=10, timeout=60)
    key = ("447700900001", "BANK")
    assert reassembler.add(key, PartNumbers(5, 2, 1), b"Hello, ", 0.0) == AddResult()
    assert len(reassembler) == 1
    result = reassembler.add(key, PartNumbers(5, 2, 2), b"world", 1.0)
    assert result == AddResult(message=Reassembled(key, 5, 2, b"Hello, world"))
    assert len(reassembler) == 0


def test_single_part_message_is_returned_at_once() -> None:
    reassembler: Reassembler[str] = Reassembler()
    result = reassembler.add("k", PartNumbers(1, 1, 1), b"x", 0.0)
    assert result.message == Reassembled("k", 1, 1, b"x")
    assert len(reassembler) == 0


def test_duplicates_are_ignored_and_the_first_payload_kept() -> None:
    reassembler: Reassembler[str] = Reassembler()
    reassembler.add("k", PartNumbers(1, 2, 1), b"first", 0.0)
    assert reassembler.add("k", PartNumbers(1, 2, 1), b"again", 0.0) == AddResult()
    result = reassembler.add("k", PartNumbers(1, 2, 2), b"+", 0.0)
    assert result.message is not None and result.message.payload == b"first+"


def test_same_reference_with_another_total_or_key_is_another_message() -> None:
    reassembler: Reassembler[str] = Reassembler()
    reassembler.add("k", PartNumbers(1, 2, 1), b"a", 0.0)
    reassembler.add("k", PartNumbers(1, 3, 1), b"b", 0.0)
    reassembler.add("other", PartNumbers(1, 2, 1), b"c", 0.0)
    assert len(reassembler) == 3
    result = reassembler.add("k", PartNumbers(1, 3, 2), b"b", 0.0)
    assert result.message is None


@pytest.mark.parametrize(
    ("numbers", "message"),
    [
        (PartNumbers(1, 0, 1), "total 0"),
        (PartNumbers(1, 256, 1), "total 256"),
        (PartNumbers(1, 2, 0), "sequence 0"),
        (PartNumbers(1, 2, 3), "sequence 3 is outside 1..2"),
        (PartNumbers(-1, 2, 1), "reference -1"),
        (PartNumbers(65536, 2, 1), "reference 65536"),
    ],
)
def test_impossible_numbers_are_rejected(numbers: PartNumbers, message: str) -> None:
    reassembler: Reassembler[str] = Reassembler()
    with pytest.raises(ReassemblyError, match=message):
        reassembler.add("k", numbers, b"x", 0.0)
    assert len(reassembler) == 0


def test_oldest_incomplete_message_is_evicted_and_reported() -> None:
    reassembler: Reassembler[str] = Reassembler(max_pending=2, timeout=60)
    reassembler.add("a", PartNumbers(1, 3, 2), b"a2", 1.0)
    reassembler.add("a", PartNumbers(1, 3, 1), b"a1", 1.5)
    reassembler.add("b", PartNumbers(1, 2, 1), b"b1", 2.0)
    result = reassembler.add("c", PartNumbers(1, 2, 2), b"c2", 3.0)
    assert result == AddResult(evicted=Incomplete("a", 1, 3, ((1, b"a1"), (2, b"a2")), 1.0))
    assert len(reassembler) == 2
    result = reassembler.add("b", PartNumbers(1, 2, 2), b"b2", 4.0)
    assert result == AddResult(message=Reassembled("b", 1, 2, b"b1b2"))


def test_completing_a_message_at_capacity_evicts_nothing() -> None:
    reassembler: Reassembler[str] = Reassembler(max_pending=1, timeout=60)
    reassembler.add("a", PartNumbers(1, 2, 1), b"1", 0.0)
    result = reassembler.add("a", PartNumbers(1, 2, 2), b"2", 0.0)
    assert result == AddResult(message=Reassembled("a", 1, 2, b"12"))


def test_expire_gives_up_messages_older_than_the_timeout() -> None:
    reassembler: Reassembler[str] = Reassembler(max_pending=10, timeout=30)
    reassembler.add("a", PartNumbers(1, 2, 1), b"a", 100.0)
    reassembler.add("b", PartNumbers(2, 2, 2), b"b", 110.0)
    reassembler.add("a", PartNumbers(3, 2, 1), b"c", 120.0)
    assert reassembler.expire(129.9) == []
    assert reassembler.expire(130.0) == [Incomplete("a", 1, 2, ((1, b"a"),), 100.0)]
    expired = reassembler.expire(1000.0)
    assert [(item.key, item.reference) for item in expired] == [("b", 2), ("a", 3)]
    assert len(reassembler) == 0


def test_a_late_part_after_expiry_starts_afresh() -> None:
    reassembler: Reassembler[str] = Reassembler(timeout=5)
    reassembler.add("a", PartNumbers(1, 2, 1), b"1", 0.0)
    reassembler.expire(5.0)
    assert reassembler.add("a", PartNumbers(1, 2, 2), b"2", 6.0) == AddResult()
    assert reassembler.expire(11.0)[0].parts == ((2, b"2"),)


@pytest.mark.parametrize(("max_pending", "timeout"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_bounds_must_be_positive(max_pending: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        Reassembler(max_pending=max_pending, timeout=timeout)


@st.composite
def interleaved_arrivals(
    draw: st.DrawFn,
) -> tuple[dict[tuple[str, int], list[bytes]], list[tuple[str, int, int]]]:
    """Several messages cut in parts, each part sent once or more, all shuffled;
    copies that would come after their message is whole are left out (those
    start a new message, see the test below)."""
    messages: dict[tuple[str, int], list[bytes]] = {}
    for index in range(draw(st.integers(1, 6))):
        key = draw(st.sampled_from(["a", "b"]))
        chunks = draw(st.lists(st.binary(min_size=1, max_size=5), min_size=1, max_size=8))
        messages[(key, index)] = chunks
    arrivals = [
        (key, reference, sequence)
        for (key, reference), chunks in messages.items()
        for sequence in range(1, len(chunks) + 1)
        for _ in range(draw(st.integers(1, 3)))
    ]
    seen: dict[tuple[str, int], set[int]] = {message: set() for message in messages}
    kept = []
    for key, reference, sequence in draw(st.permutations(arrivals)):
        parts_seen = seen[(key, reference)]
        if len(parts_seen) < len(messages[(key, reference)]):
            parts_seen.add(sequence)
            kept.append((key, reference, sequence))
    return messages, kept


def test_a_copy_after_the_message_is_whole_starts_a_new_one() -> None:
    reassembler: Reassembler[str] = Reassembler()
    reassembler.add("k", PartNumbers(1, 2, 1), b"1", 0.0)
    assert reassembler.add("k", PartNumbers(1, 2, 2), b"2", 0.0).message is not None
    assert reassembler.add("k", PartNumbers(1, 2, 2), b"2", 0.0) == AddResult()
    assert len(reassembler) == 1


@FAST
@given(st.integers(1, 8), st.lists(st.integers(0, 19), max_size=60))
def test_pending_messages_never_exceed_the_bound(bound: int, starts: list[int]) -> None:
    reassembler: Reassembler[int] = Reassembler(max_pending=bound, timeout=60)
    held: list[int] = []
    for now, reference in enumerate(starts):
        result = reassembler.add(0, PartNumbers(reference, 2, 1), b"x", float(now))
        if reference not in held:
            if len(held) == bound:
                assert result.evicted is not None
                assert result.evicted.reference == held.pop(0)
            held.append(reference)
        else:
            assert result.evicted is None
        assert len(reassembler) == len(held) <= bound


@FAST
@given(
    st.text(st.sampled_from(sorted(gsm.CHARACTERS)), max_size=600),
    st.sampled_from(list(Concatenation)),
    st.randoms(use_true_random=False),
)
def test_split_then_reassemble_gives_the_text_back(
    text: str, method: Concatenation, shuffler: Random
) -> None:
    septets = gsm.encode(text)
    parts = split(septets, Alphabet.GSM_7BIT, method, reference=77)
    shuffler.shuffle(parts)
    reassembler: Reassembler[str] = Reassembler()
    messages = []
    for part in parts:
        if part.message_payload is not None:
            messages.append(part.message_payload)
            continue
        if part.udhi:
            elements, body = parse_udh(part.short_message)
            numbers = concatenation_numbers(elements)
        else:
            body, numbers = part.short_message, part.sar
        if numbers is None:
            messages.append(body)
            continue
        result = reassembler.add("src", numbers, body, 0.0)
        if result.message is not None:
            messages.append(result.message.payload)
    assert [gsm.decode(message) for message in messages] == [text]
    assert len(reassembler) == 0


def test_packed_parts_reassemble_after_unpacking_with_the_fill_bits() -> None:
    # 153 + 9 septets: with the fill bit both parts end on an octet boundary,
    # so unpacking every whole septet is exact (7 spare bits would read as "@").
    text = "a" * 160 + "bc"
    parts = split(
        gsm.encode(text), Alphabet.GSM_7BIT, Concatenation.UDH_8BIT_REF, reference=3, packed=True
    )
    reassembler: Reassembler[str] = Reassembler()
    results = []
    for part in reversed(parts):
        elements, body = parse_udh(part.short_message)
        numbers = concatenation_numbers(elements)
        assert numbers is not None
        septets = gsm.unpack(body, fill_bits=gsm.fill_bits_after(part.short_message[0] + 1))
        results.append(reassembler.add("src", numbers, septets, 0.0))
    assert results[-1].message is not None
    assert gsm.decode(results[-1].message.payload) == text
