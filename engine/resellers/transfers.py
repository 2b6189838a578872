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

Before the debit, the receiving account is checked (known to the ledger,
room under MAX_AMOUNT), and credit moved back up must be the sub-account's
own: its balance less its holds, never its credit limit (which is credit its
reseller grants, not money it holds). These checks and the debit are
separate calls, so a concurrent change can still get the credit refused
after the debit: the debit is then given back by a third entry (``:undo``)
and the transfer is ``undone`` for good; a retry of it moves nothing.

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
    """The receiving account's balance would pass MAX_AMOUNT."""
    UNKNOWN_ACCOUNT = "unknown_account"
    """The receiving (or giving) account is unknown to the ledger."""
    INSUFFICIENT_BALANCE = "insufficient_balance"
    """Credit moved back up exceeds the sub-account's balance less its holds."""
    UNDONE = "undone"
    """The credit was refused after the debit, which was given back: nothing
    moved, and the reference stays spent."""


class TransferResult(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    outcome: TransferOutcome
    amount: int
    """Positive: down to the sub-account; negative: back up to the reseller."""


class TransferIncomplete(RuntimeError):
    """The debit is taken, the credit was refused and the debit could not be
    given back: retrying the same transfer gives it back (or completes it)."""


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

        def result(outcome: TransferOutcome) -> TransferResult:
            return TransferResult(reference=reference, outcome=outcome, amount=amount)

        if await self.ledger.has_reference(giver, f"{stem}:undo"):
            return result(TransferOutcome.UNDONE)
        if not await self.ledger.has_reference(giver, f"{stem}:out"):
            refusal = await self._refusal(giver, taker, moved, upward=amount < 0)
            if refusal is not None:
                return result(refusal)
        debit = await self.ledger.adjust(
            giver, -moved, reason=f"transfer {reference} to {taker}", reference=f"{stem}:out"
        )
        if debit.outcome not in _TAKEN:
            return result(TransferOutcome(debit.outcome.value))
        credit = await self.ledger.adjust(
            taker, moved, reason=f"transfer {reference} from {giver}", reference=f"{stem}:in"
        )
        if credit.outcome not in _TAKEN:
            undo = await self.ledger.adjust(
                giver,
                moved,
                reason=f"transfer {reference} undone: {taker} refused it ({credit.outcome})",
                reference=f"{stem}:undo",
            )
            if undo.outcome not in _TAKEN:
                raise TransferIncomplete(
                    f"transfer {reference}: {giver} debited, {taker} refused the credit "
                    f"({credit.outcome}) and the debit was not given back ({undo.outcome});"
                    " retry it"
                )
            return result(TransferOutcome.UNDONE)
        both_there = debit.outcome is credit.outcome is AdjustOutcome.DUPLICATE
        return result(TransferOutcome.DUPLICATE if both_there else TransferOutcome.OK)

    async def _refusal(
        self, giver: str, taker: str, moved: int, *, upward: bool
    ) -> TransferOutcome | None:
        """Why the transfer cannot be whole, checked before its debit; None: it can."""
        receiving = await self.ledger.get_account(taker)
        if receiving is None:
            return TransferOutcome.UNKNOWN_ACCOUNT
        if receiving.balance + moved > MAX_AMOUNT:
            return TransferOutcome.BALANCE_LIMIT
        if upward:
            giving = await self.ledger.get_account(giver)
            if giving is None:
                return TransferOutcome.UNKNOWN_ACCOUNT
            if giving.balance - giving.held < moved:
                return TransferOutcome.INSUFFICIENT_BALANCE
        return None
