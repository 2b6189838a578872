"""The ``[verify]`` section: how one-time codes are made, checked and rate limited.

Bounds a configuration may only narrow are constants here (`CODE_LENGTH`,
`EXPIRY`): a code shorter than 4 digits falls to a patient guesser even with
5 attempts per code, and one living more than an hour is no longer "one-time".
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

CODE_PLACE = "{code}"
"""Where the code goes in a template (replaced as text: no other braces are special)."""
CODE_LENGTH = (4, 10)
"""Digits a code may have, whatever the configuration says."""
EXPIRY = (30, 3600)
"""Seconds a code may live, whatever the configuration says."""


class VerifySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[verify]`` section (docs/verify.md)."""

    max_attempts: Annotated[int, Meta(ge=1, le=20)] = 5
    """Checks a code allows; the one that uses the last wrong guess ends the verification."""
    expiry_default: Annotated[int, Meta(ge=EXPIRY[0], le=EXPIRY[1])] = 300
    """Seconds a code lives when the request does not say."""
    code_length_default: Annotated[int, Meta(ge=CODE_LENGTH[0], le=CODE_LENGTH[1])] = 6
    code_length_min: Annotated[int, Meta(ge=CODE_LENGTH[0], le=CODE_LENGTH[1])] = 4
    code_length_max: Annotated[int, Meta(ge=CODE_LENGTH[0], le=CODE_LENGTH[1])] = 10
    template: Annotated[str, Meta(min_length=1, max_length=480)] = "Your code is {code}"
    """The SMS text when the request gives none; ``{code}`` is where the code goes."""
    sender: Annotated[str, Meta(min_length=1, max_length=20)] = "Verify"
    """The sender (``from``) when the request gives none."""
    resend_interval: Annotated[float, Meta(ge=0, le=3600)] = 30.0
    """Seconds between two codes to one number from one account (0: no minimum)."""
    sends_per_window: Annotated[int, Meta(ge=1)] = 5
    """Codes one account may send one number per ``send_window``."""
    send_window: Annotated[float, Meta(gt=0, le=86_400)] = 3600.0
    """Seconds of the sliding window ``sends_per_window`` counts in."""
    keep_after_expiry: Annotated[float, Meta(ge=0, le=86_400)] = 3600.0
    """Seconds a verification is kept after its code expired, so that a late
    check or read answers ``expired`` rather than "no such verification"."""

    def __post_init__(self) -> None:
        if not self.code_length_min <= self.code_length_default <= self.code_length_max:
            raise ValueError("code_length_min <= code_length_default <= code_length_max must hold")
        if self.resend_interval > self.send_window:
            raise ValueError("resend_interval must not be longer than send_window")
        if CODE_PLACE not in self.template:
            raise ValueError(f"template must hold {CODE_PLACE} where the code goes")
