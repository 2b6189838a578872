"""What the facade's send, wait, quote and balance calls take and answer:
plain values, so the HTTP front and the engine share no mutable state."""

from __future__ import annotations

import msgspec

from engine.messages.message import Callback, Priority
from smpp.handset import HandsetView


class SendItem(msgspec.Struct, frozen=True, kw_only=True):
    """One message to one recipient, already validated by the HTTP edge."""

    to: str
    sender: str
    text: str | None = None
    data: bytes | None = None
    """Binary user data (with ``udh``, starting with its user data header)."""
    data_coding: int | None = None
    """None: the cheapest coding for ``text``; binary defaults to 4 (8-bit)."""
    udh: bool = False
    priority: Priority | None = None
    validity: float | None = None
    """Seconds the message may wait for an operator; None: the account default."""
    send_at: float = 0.0
    """Unix time to send at; 0: now."""
    reference: str = ""
    callback: Callback | None = None
    deadline: float | None = None
    """Unix time after which the message is never sent (an OTP wait)."""


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    to: str
    message_id: str = ""
    parts: int = 0
    price_per_part: int = 0
    refusal: str = ""
    """A stable code when refused (no_route, no_credit, throttled, ...); '' when accepted."""
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return not self.refusal


class WaitResult(msgspec.Struct, frozen=True, kw_only=True):
    reached: bool
    state: str
    """SMPP message state name (ENROUTE once the operator accepted, DELIVERED, ...)."""
    error: str = "000"
    released: bool = False
    """The deadline passed while the message still waited: it was taken out and
    its hold released, so it is never sent late."""
    timed_out: bool = False
    """The deadline passed before the milestone (else the message failed)."""


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    parts: int = 0
    price_per_part: int = 0
    currency: str = ""
    refusal: str = ""
    detail: str = ""
    handset: HandsetView | None = None
    """How the handset shows a text message: coding and the text of each part."""


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    balance: int
    held: int
    available: int
    credit_limit: int
    currency: str
