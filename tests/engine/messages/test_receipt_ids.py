"""Receipt ids in every convention operators use find the key their
submit_sm_resp id was stored under."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.messages.receipt_ids import (
    MAX_ID_LENGTH,
    canonical,
    is_valid_id,
    lookup_keys,
    same_handset,
    stored_key,
)

numbers = st.integers(min_value=0, max_value=2**64 - 1)
zeros = st.integers(min_value=0, max_value=6)


@given(numbers, zeros, st.booleans())
def test_hex_resp_and_decimal_receipt_match(number: int, pad: int, upper: bool) -> None:
    resp = "0" * pad + (f"{number:X}" if upper else f"{number:x}")
    receipt = str(number)
    assert stored_key(resp, "auto") in lookup_keys(receipt, "auto")
    assert lookup_keys(receipt, "resp_hex_receipt_decimal") == (
        stored_key(resp, "resp_hex_receipt_decimal"),
    )


@given(numbers, zeros)
def test_decimal_resp_and_hex_receipt_match(number: int, pad: int) -> None:
    resp = "0" * pad + str(number)
    receipt = f"{number:X}"
    assert stored_key(resp, "auto") in lookup_keys(receipt, "auto")
    assert lookup_keys(receipt, "resp_decimal_receipt_hex") == (
        stored_key(resp, "resp_decimal_receipt_hex"),
    )


@given(st.text(alphabet="0123456789abcdefABCDEF-", min_size=1, max_size=40), zeros)
def test_the_same_id_in_another_case_or_padding_is_the_first_key(receipt: str, pad: int) -> None:
    resp = "0" * pad + receipt.swapcase()
    assert lookup_keys(receipt, "auto")[0] == stored_key(resp, "auto")


def test_exact_keeps_the_id_byte_for_byte() -> None:
    assert stored_key("00AbC", "exact") == "00AbC"
    assert lookup_keys("00AbC", "exact") == ("00AbC",)
    assert lookup_keys("abc", "exact") != (stored_key("00AbC", "exact"),)


def test_canonical_keeps_a_lone_zero_and_drops_blanks() -> None:
    assert [canonical(x) for x in ("0", "000", " 0A ", "a-0")] == ["0", "0", "a", "a-0"]


def test_auto_tries_the_id_itself_first_then_each_base_once() -> None:
    assert lookup_keys("10", "auto") == ("10", "a", "16")
    assert lookup_keys("ff", "auto") == ("ff", "255")
    assert lookup_keys("msg-1", "auto") == ("msg-1",)


def test_huge_and_unprintable_ids_are_not_ids() -> None:
    assert is_valid_id("x" * MAX_ID_LENGTH)
    assert not is_valid_id("x" * (MAX_ID_LENGTH + 1))
    assert not is_valid_id("")
    assert not is_valid_id("ab\x00c")
    # A long number is looked up as it is, never converted.
    assert lookup_keys("9" * 60, "auto") == ("9" * 60,)


def test_a_handset_matches_in_national_or_international_form() -> None:
    assert same_handset("+33 6 12 34 56 78", "33612345678")
    assert same_handset("0612345678", "612345678")
    assert same_handset("", "33612345678")
    assert not same_handset("33699999999", "33612345678")
