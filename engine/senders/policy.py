"""The accept path's sender check: what a message from an unapproved source gets.

It runs before routing (`engine.messages.pipeline.Pipeline.source_check`),
for SMPP submit_sm, data_sm and HTTP messages alike, because the source is a
routing fact (routes may filter on it) and a rewritten message must be
routed and priced as what it will be. An account's ``sender_policy``:

- "open": no check (the default, as before sender IDs);
- "refuse": refused with ESME_RINVSRCADR (0x0A, "invalid source address",
  SMPP 3.4 §5.1.3), ``sender_not_approved`` over HTTP; nothing held;
- "rewrite": sent from the account's ``default_sender`` instead.

The account's ``default_sender`` itself always passes: staff set it.
"""

from __future__ import annotations

import msgspec

from engine.customers.accounts import AccountConfig
from engine.messages.intake import Refused
from engine.senders.model import source_key
from engine.senders.service import SenderRegistry
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.constants import Ton

NOT_APPROVED = "sender_not_approved"
_NO_DEFAULT = Refused(
    S.ESME_RINVSRCADR,
    "the sender is not approved and the account has no default_sender",
    NOT_APPROVED,
)


class SenderPolicy:
    def __init__(self, registry: SenderRegistry) -> None:
        self.registry = registry

    def __call__(self, account: AccountConfig, request: p.SubmitSm) -> p.SubmitSm | Refused:
        """``request`` as it goes on (its source maybe rewritten), or why it is refused."""
        policy = account.sender_policy
        if policy == "open":
            return request
        source = request.source_addr
        if self.registry.is_approved(account.id, source) or (
            account.default_sender and source_key(source) == source_key(account.default_sender)
        ):
            return request
        if policy == "refuse":
            return Refused(
                S.ESME_RINVSRCADR,
                f"sender {source[:21]!r} is not approved for this account",
                NOT_APPROVED,
            )
        if not account.default_sender:
            return _NO_DEFAULT
        return from_sender(request, account.default_sender)


def from_sender(request: p.SubmitSm, sender: str) -> p.SubmitSm:
    """``request`` sent from ``sender``, with the TON and NPI its shape says
    (as an HTTP message gets them): a number international/E.164, a name alphanumeric."""
    number = sender.isdigit()
    return msgspec.structs.replace(
        request,
        source_addr=sender,
        source_addr_ton=int(Ton.INTERNATIONAL if number else Ton.ALPHANUMERIC),
        source_addr_npi=1 if number else 0,
    )
