"""What the commit point answers: the customer's reply and why it may refuse.

A refusal carries the SMPP command_status and a stable reason code that the
HTTP front turns into its own status and problem type.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.model import AcceptOutcome
from smpp.constants import CommandStatus as S

Reply = Callable[[int, str, str], None]
"""Answers the customer: command_status, our message id, and on a refusal a
stable reason (`Refusal`) the HTTP front turns into its own status."""


class Refusal:
    """Why the commit point refused a message (stable codes for the HTTP API)."""

    NO_CREDIT = "no_credit"
    THROTTLED = "throttled"
    QUOTA_EXCEEDED = "quota_exceeded"
    ACCOUNT_DISABLED = "account_disabled"
    UNKNOWN_ACCOUNT = "unknown_account"
    LEDGER_DOWN = "ledger_unavailable"
    OVERLOADED = "overloaded"
    """Shed before the ledger: the account has its limit of messages at the
    commit point (`engine.customers.admission`); HTTP answers 429."""


REFUSALS = {
    AcceptOutcome.NO_CREDIT: (S.ESME_RSUBMITFAIL, Refusal.NO_CREDIT),
    AcceptOutcome.THROTTLED: (S.ESME_RTHROTTLED, Refusal.THROTTLED),
    AcceptOutcome.QUOTA_EXCEEDED: (S.ESME_RTHROTTLED, Refusal.QUOTA_EXCEEDED),
    AcceptOutcome.ACCOUNT_DISABLED: (S.ESME_RSUBMITFAIL, Refusal.ACCOUNT_DISABLED),
    AcceptOutcome.UNKNOWN_ACCOUNT: (S.ESME_RSUBMITFAIL, Refusal.UNKNOWN_ACCOUNT),
}
"""The ledger's refusal -> (command_status, reason)."""
