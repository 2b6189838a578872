"""The shape of a sender: GSM alphanumeric up to 11 characters, or up to 16 digits."""

from __future__ import annotations

import pytest

from engine.senders.model import InvalidSender, check_sender, source_key


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("MyBank", "MyBank"),
        ("MYBANK", "MYBANK"),  # case as given: another sender
        ("Shop & Co", "Shop & Co"),
        ("ABCDEFGHIJK", "ABCDEFGHIJK"),
        ("Ünal", "Ünal"),  # Ü is in GSM 03.38's basic table
        ("Bank€", "Bank€"),  # and € in its extension table
        ("4915112345678", "4915112345678"),
        ("+4915112345678", "4915112345678"),
        ("1234567890123456", "1234567890123456"),
        ("36000", "36000"),
    ],
)
def test_a_sender_of_the_right_shape_is_kept(given: str, kept: str) -> None:
    assert check_sender(given) == kept


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("", "empty"),
        (" Bank", "space"),
        ("ABCDEFGHIJKL", "at most 11"),
        ("12345678901234567", "at most 16 digits"),
        ("My/Bank", "'/'"),
        ("Bank\n", "space"),
        ("Банк", "'Б'"),
        ("Bank\t", "space"),
    ],
)
def test_a_sender_of_another_shape_is_refused_with_its_field(given: str, why: str) -> None:
    with pytest.raises(InvalidSender, match=f"default_sender: .*{why}"):
        check_sender(given, "default_sender")


def test_a_number_is_compared_without_its_plus() -> None:
    assert source_key("+4915112345678") == "4915112345678"
    assert source_key("MyBank") == "MyBank"
    assert source_key("+Bank") == "+Bank"
