"""Credit moved between a reseller and one of its sub-accounts.

The two accounts may live in different Redis Cluster slots, so one Lua call
cannot take both. A transfer is therefore two ledger adjust entries, run in
order: the debit of the giving account (the ledger refuses it beyond that
account's available credit: balance + credit limit - held), then the credit
of the other. Each entry's ledger reference is derived from the transfer's
reference, so the ledger itself makes a retry safe: a retry finds the debit
already taken (``duplicate``) and takes only the credit if a crash left it
out, and finds both taken when the first call ended well. Money is neither
made nor lost; at worst, between a crash and its retry, it is in neither
account.

The ledger reference also names the two accounts and the amount (a short
digest), so the same reference with other terms is another transfer, never
a half of this one.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum

import msgspec

from engine.billing.invoices import TRANSFER_PREFIX
from ledger.model import MAX_AMOUNT, AdjustOutcome
from ledger.protocol import Ledger

REFERENCE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
"""What a caller may name a transfer with."""
_TAKEN = (AdjustOutcome.OK, AdjustOutcome.DUPLICATE)


class TransferOutcome(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"
    """Both entries were already there: this retry moved nothing."""
    NO_CREDIT = "no_credit"
    """The giving account's available credit is less than the amount."""
    BALANCE_LIMIT = "balance_limit"
    UNKNOWN_ACCOUNT = "unknown_account"


class TransferResult(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    outcome: TransferOutcome
    amount: int
    """Positive: down to the sub-account; negative: back up to the reseller."""


class TransferIncomplete(RuntimeError):
    """The debit is taken but the credit was refused: retrying the same
    transfer completes it once the cause is gone."""


def check_transfer(amount: int, reference: str) -> None:
    """A ValueError naming the field when ``amount`` or ``reference`` is unusable."""
    if type(amount) is not int or amount == 0 or not -MAX_AMOUNT <= amount <= MAX_AMOUNT:
        raise ValueError(f"amount: a non-zero integer of micro-units within ±{MAX_AMOUNT}")
    if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
        raise ValueError("reference: 1 to 64 of A-Z a-z 0-9 _ . : -")


def ledger_reference(reseller: str, sub_account: str, amount: int, reference: str) -> str:
    """The stem of the two entries' ledger references (at most 86 characters)."""
    terms = f"{reseller}\n{sub_account}\n{amount}".encode()
    return f"{TRANSFER_PREFIX}{reference}:{hashlib.sha256(terms).hexdigest()[:16]}"


class CreditTransfers:
    """Moves credit with two adjust entries of the ledger, safe to retry."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def move(
        self, reseller: str, sub_account: str, amount: int, reference: str
    ) -> TransferResult:
        """Moves ``amount`` from ``reseller`` down to ``sub_account`` (or, when
        negative, back up). Whether ``sub_account`` belongs to ``reseller`` is
        the caller's check."""
        check_transfer(amount, reference)
        giver, taker = (reseller, sub_account) if amount > 0 else (sub_account, reseller)
        moved = abs(amount)
        stem = ledger_reference(reseller, sub_account, amount, reference)
        debit = await self.ledger.adjust(
            giver, -moved, reason=f"transfer {reference} to {taker}", reference=f"{stem}:out"
        )
        if debit.outcome not in _TAKEN:
            return TransferResult(
                reference=reference, outcome=TransferOutcome(debit.outcome.value), amount=amount
            )
        credit = await self.ledger.adjust(
            taker, moved, reason=f"transfer {reference} from {giver}", reference=f"{stem}:in"
        )
        if credit.outcome not in _TAKEN:
            raise TransferIncomplete(
                f"transfer {reference}: {giver} debited, {taker} refused the credit "
                f"({credit.outcome}); retry it"
            )
        both_there = debit.outcome is credit.outcome is AdjustOutcome.DUPLICATE
        outcome = TransferOutcome.DUPLICATE if both_there else TransferOutcome.OK
        return TransferResult(reference=reference, outcome=outcome, amount=amount)
