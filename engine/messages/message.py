"""The MT message as it travels through one engine shard.

One `MtMessage` is what the ledger accepted: it is serialised (msgpack) into
the shard's outbox so a restarted shard can resend it, and it is what the
scheduler queues and a connector submits. It carries the already-encoded user
data and the account's requested options, never the customer's PDU object.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec

from ledger.events import Pricing


class Priority(IntEnum):
    """Strict priority classes of the schedulers, most urgent first."""

    OTP = 0
    EXPRESS = 1
    NORMAL = 2
    BULK = 3


class Callback(msgspec.Struct, frozen=True, array_like=True):
    """Where an HTTP customer wants to hear about a message (webhooks).

    ``form`` is ``json`` (our signed v1 webhook) or ``jasmin`` (Jasmin's
    dlr-url form); ``level`` is Jasmin's dlr-level: 1 the operator's answer to
    the submit, 2 the final receipt, 3 both.
    """

    url: str
    form: str = "json"
    method: str = "POST"
    level: int = 2


class MtMessage(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    id: str
    """Our message id, returned to the customer in submit_sm_resp / HTTP 202."""
    account: str
    priority: Priority = Priority.NORMAL
    source_addr: str
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    destination_addr: str
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    data_coding: int = 0
    esm_class: int = 0
    """Customer esm_class bits other than the message mode; UDHI when the
    customer sent its own UDH, in which case ``user_data`` is never split."""
    user_data: bytes
    """The whole encoded message (short_message or message_payload content)."""
    parts: int = 1
    """Parts billed: counted by the standard rules whatever the connector's split."""
    registered_delivery: int = 0
    connectors: tuple[str, ...] = ()
    """Ordered connector ids from the router: the first, then failover."""
    price_per_part: int = 0
    """Micro-units of the account's currency (``pricing.currency``)."""
    cost_per_part: int = 0
    pricing: Pricing | None = None
    """How ``price_per_part`` was reached (docs/billing.md), for the CDR."""
    accepted_at: float = 0.0
    """Unix time of acceptance (the commit point)."""
    expires_at: float = 0.0
    """Unix time after which the message is never sent (validity period)."""
    attempts: int = 0
    reference: str = ""
    """The customer's own reference (HTTP ``reference``), echoed in history and webhooks."""
    callback: Callback | None = None
    not_before: float = 0.0
    """Unix time before which the message waits (HTTP scheduled send); 0: now."""
    bind: int = 0
    """The customer bind that submitted it (`BindRegistry.add`), preferred for
    its receipts; 0 for HTTP."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(MtMessage)


def pack_message(message: MtMessage) -> bytes:
    """The outbox payload of a message."""
    return _encoder.encode(message)


def unpack_message(payload: bytes) -> MtMessage:
    return _decoder.decode(payload)
