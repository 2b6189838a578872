"""What a console user and a console session are: plain values the stores
keep as JSON."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Role = Literal["admin", "support", "reseller", "customer"]
"""admin: everything; support: the admin pages read-only; reseller: no pages
yet (its accounts are not scoped yet); customer: the portal of one account."""
ROLES: tuple[Role, ...] = ("admin", "support", "reseller", "customer")

UserName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.@\-]{1,64}$(?!\n)")]


class ConsoleUser(msgspec.Struct, frozen=True, kw_only=True):
    """A person who logs in to the console or the portal. ``account`` links a
    customer to the one account it may see; staff have none."""

    name: UserName
    role: Role
    password_hash: str
    """argon2id (RFC 9106), with its parameters and salt."""
    account: str | None = None
    disabled: bool = False

    def __post_init__(self) -> None:
        if (self.role == "customer") != (self.account is not None):
            raise ValueError("a customer user, and only one, is linked to an account")


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """A logged-in browser: kept server-side so logout and expiry are real,
    the cookie only names it."""

    user: str
    csrf: str
    """Sent back in every form (field ``csrf``), compared on every POST."""
    expires_at: float
