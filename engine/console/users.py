"""What a console user and a console session are: plain values the stores
keep as JSON."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Role = Literal["admin", "support", "reseller", "customer"]
"""admin: everything; support: the admin pages read-only; reseller: the
portal of its reseller account and its sub-accounts (docs/resellers.md);
customer: the portal of one account."""
ROLES: tuple[Role, ...] = ("admin", "support", "reseller", "customer")
ACCOUNT_ROLES: tuple[Role, ...] = ("reseller", "customer")
"""The roles that act for one account, and need it."""

UserName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.@\-]{1,64}$(?!\n)")]


class ConsoleUser(msgspec.Struct, frozen=True, kw_only=True):
    """A person who logs in to the console or the portal. ``account`` links a
    customer or reseller to the one account it acts for; staff have none."""

    name: UserName
    role: Role
    password_hash: str
    """argon2id (RFC 9106), with its parameters and salt."""
    account: str | None = None
    disabled: bool = False
    totp_secret: str | None = None
    """Base32 (RFC 6238): set once the user confirmed a code from it; then
    every login asks for a code after the password."""
    totp_pending: str | None = None
    """The secret shown by an enrolment not yet confirmed."""
    sessions_after: float = 0.0
    """Unix time: sessions opened before it are over (set when the password
    is reset or TOTP switched off: whoever held the old ones is out)."""

    def __post_init__(self) -> None:
        if (self.role in ACCOUNT_ROLES) != (self.account is not None):
            raise ValueError("customer and reseller users, and only they, act for an account")


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A logged-in browser: kept server-side so logout and expiry are real,
    the cookie only names it."""

    user: str
    csrf: str
    """Sent back in every form (field ``csrf``), compared on every POST."""
    expires_at: float
    opened_at: float = 0.0
    awaiting_code: bool = False
    """The password was right but the TOTP code is still to come: not a
    login yet, only the right to send the code."""
