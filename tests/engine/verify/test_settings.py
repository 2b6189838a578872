"""The [verify] section: defaults, bounds, and the rules across fields."""

from __future__ import annotations

import msgspec
import pytest

from engine.verify.settings import VerifySettings


def test_defaults() -> None:
    settings = VerifySettings()
    assert (settings.max_attempts, settings.expiry_default, settings.code_length_default) == (
        5,
        300,
        6,
    )
    assert "{code}" in settings.template


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"code_length_min": 8, "code_length_default": 6}, "code_length_min <="),
        ({"code_length_max": 11}, "<= 10"),
        ({"code_length_min": 3}, ">= 4"),
        ({"expiry_default": 7200}, "<= 3600"),
        ({"template": "Your code"}, "template must hold {code}"),
        ({"resend_interval": 600, "send_window": 60}, "resend_interval must not be longer"),
        ({"max_attempts": 0}, ">= 1"),
    ],
)
def test_a_bad_section_is_refused_saying_why(fields: dict[str, object], words: str) -> None:
    with pytest.raises((msgspec.ValidationError, ValueError), match=words):
        msgspec.convert(fields, VerifySettings)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"attempts": 3}, VerifySettings)
