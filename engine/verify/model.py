"""A verification's record, its states, the one rule a check follows, and what callers get.

This module imports nothing of the facade, so `engine.facade.Engine` may hold
a `Verifier` while `engine.verify.service` sends through the facade.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

import msgspec

from engine.customers.accounts import AccountConfig
from engine.verify.stats import VerifyDay


class Status(StrEnum):
    """Where a verification stands (``GET /v1/verifications/{id}``)."""

    PENDING = "pending"
    APPROVED = "approved"
    EXPIRED = "expired"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"


class Verdict(StrEnum):
    """A check's answer: a status, or ``already_used`` for a check after the
    approval (a code approves once, docs/verify.md)."""

    PENDING = "pending"
    APPROVED = "approved"
    EXPIRED = "expired"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"
    ALREADY_USED = "already_used"


class Verification(msgspec.Struct, frozen=True, kw_only=True):
    """What is stored: never the code, only its salted HMAC (`engine.verify.codes`)."""

    id: str
    account: str
    to: str
    channel: str
    code_length: int
    salt: bytes
    digest: bytes
    created_ms: int
    expires_ms: int
    """Unix ms from which the code no longer approves."""
    max_attempts: int
    attempts: int = 0
    """Wrong codes checked so far."""
    state: Status = Status.PENDING
    """PENDING, APPROVED or MAX_ATTEMPTS_REACHED; EXPIRED is read from the clock."""
    message_id: str = ""

    def status(self, now_ms: int) -> Status:
        if self.state is Status.PENDING and now_ms >= self.expires_ms:
            return Status.EXPIRED
        return self.state

    def snapshot(self, now_ms: int) -> Snapshot:
        return Snapshot(
            id=self.id,
            to=self.to,
            channel=self.channel,
            status=self.status(now_ms),
            attempts_left=max(0, self.max_attempts - self.attempts),
            code_length=self.code_length,
            created_at=self.created_ms / 1000,
            expires_at=self.expires_ms / 1000,
            message_id=self.message_id,
        )


def decide(verification: Verification, matched: bool, now_ms: int) -> tuple[Verdict, Verification]:
    """The one rule of a check, which `lua/check_code.lua` applies in Redis:
    an approved code answers ``already_used``; an ended or expired one its
    state; else the right code approves and a wrong one costs an attempt, the
    last one ending the verification."""
    if verification.state is Status.APPROVED:
        return Verdict.ALREADY_USED, verification
    if verification.state is Status.MAX_ATTEMPTS_REACHED:
        return Verdict.MAX_ATTEMPTS_REACHED, verification
    if now_ms >= verification.expires_ms:
        return Verdict.EXPIRED, verification
    if matched:
        return Verdict.APPROVED, msgspec.structs.replace(verification, state=Status.APPROVED)
    attempts = verification.attempts + 1
    if attempts >= verification.max_attempts:
        ended = msgspec.structs.replace(
            verification, attempts=attempts, state=Status.MAX_ATTEMPTS_REACHED
        )
        return Verdict.MAX_ATTEMPTS_REACHED, ended
    return Verdict.PENDING, msgspec.structs.replace(verification, attempts=attempts)


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A verification as its account may see it (no salt, no digest)."""

    id: str
    to: str
    channel: str
    status: Status
    attempts_left: int
    code_length: int
    created_at: float
    """Unix time."""
    expires_at: float
    message_id: str
    """The SMS that carried the code (``GET /v1/messages/{id}``)."""


class Checked(msgspec.Struct, frozen=True):
    verdict: Verdict
    verification: Snapshot
    """As the check left it."""


class NewVerification(msgspec.Struct, frozen=True, kw_only=True):
    """A request for a code, its number already in E.164 digits; None: the configured default."""

    to: str
    template: str | None = None
    """The SMS text, with ``{code}`` where the code goes."""
    code_length: int | None = None
    expiry: int | None = None
    """Seconds the code lives."""
    sender: str | None = None
    channel: str = "sms"


class Refused(msgspec.Struct, frozen=True):
    """The engine refused the SMS (a `engine.facade.SendResult` refusal code):
    nothing was stored, held or sent."""

    code: str
    detail: str = ""


class Limited(msgspec.Struct, frozen=True):
    """Too many codes to this number lately; nothing was sent."""

    limit: str
    """The setting that refused it: ``resend_interval`` or ``sends_per_window``."""
    retry_after: float
    """Seconds until a code may be sent again."""
    detail: str


class InvalidVerification(ValueError):
    """A request field outside what this gateway allows; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{message} ($.{field})")
        self.field = field


class Verifier(Protocol):
    """What the HTTP front asks of the verify room (`engine.verify.service.VerifyService`)."""

    async def start(
        self, account: AccountConfig, request: NewVerification
    ) -> Snapshot | Refused | Limited:
        """Make a code and send it; `InvalidVerification` for a bad field."""
        ...

    async def check(self, account: str, verification_id: str, code: str) -> Checked | None:
        """None: no such verification of this account."""
        ...

    async def get(self, account: str, verification_id: str) -> Snapshot | None: ...

    async def stats(self, account: str, days: int) -> list[VerifyDay]:
        """The account's last ``days`` days (UTC), newest first (`engine.verify.stats`)."""
        ...
