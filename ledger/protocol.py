"""The interface both ledger backends implement: Redis for production, the twin for `smsgw dev`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from ledger.events import MessageEvent
from ledger.model import (
    AcceptRequest,
    AcceptResult,
    AccountLimits,
    AccountState,
    AdjustResult,
    Capture,
    OutboxEntry,
    OutboxRef,
    Release,
    SettleResult,
    VoidOutcome,
)


class Ledger(Protocol):
    """Balances, holds and the outbox of one shard, with the same results on every backend."""

    async def start(self) -> None:
        """Prepares the backend; call once before anything else."""

    async def aclose(self) -> None:
        """Waits for the calls already sent."""

    async def set_account(self, account: str, limits: AccountLimits) -> bool:
        """Creates the account with balance 0, or changes its limits; True when created."""

    async def get_account(self, account: str) -> AccountState | None:
        """The live balance, holds and limits, or None for an unknown account."""

    async def accept(self, request: AcceptRequest) -> AcceptResult:
        """The commit point for one message: checks, holds price x parts, queues it."""

    async def accept_many(
        self, requests: Sequence[AcceptRequest], *, urgent: bool = False
    ) -> list[AcceptResult]:
        """`accept` for several messages; one result per request, in order.
        ``urgent`` (OTP): sent ahead of other accepts waiting for the ledger."""

    async def void_accepts(self, requests: Sequence[AcceptRequest]) -> list[VoidOutcome]:
        """Makes accepts whose reply never came (the backend did not answer)
        have no effect, whether they ran, run later or never: one outcome per
        request, in order. Safe to repeat."""

    async def capture(
        self, message_id: str, account: str, amount: int, *, outbox_id: str = ""
    ) -> SettleResult:
        """Spends `amount` of the message's hold and releases the rest; with
        `outbox_id`, deletes that entry of this shard's outbox in the same step
        (whatever the outcome), so a restart never resends a settled message."""

    async def release(self, message_id: str, account: str, *, outbox_id: str = "") -> SettleResult:
        """Gives the message's whole hold back (`outbox_id` as for `capture`)."""

    async def capture_many(self, captures: Sequence[Capture]) -> list[SettleResult]:
        """`capture` for several messages; one result per capture, in order."""

    async def release_many(self, releases: Sequence[Release]) -> list[SettleResult]:
        """`release` for several messages; one result per release, in order."""

    async def adjust(
        self, account: str, amount: int, *, reason: str, reference: str
    ) -> AdjustResult:
        """Credits (or with a negative amount debits) the balance, once per reference."""

    async def has_reference(self, account: str, reference: str) -> bool:
        """Whether an adjustment with ``reference`` was taken on the account
        (what a caller undoing or retrying a multi-entry operation needs)."""

    def read_outbox(self, shard: str | None = None) -> AsyncIterator[OutboxEntry]:
        """Every entry of the shard's outbox (this shard by default) in every bucket."""

    async def ack_outbox(self, refs: Sequence[OutboxRef], shard: str | None = None) -> int:
        """Removes submitted entries from the shard's outbox; returns how many were there."""

    async def replace_outbox(
        self, ref: OutboxRef, payload: bytes, shard: str | None = None
    ) -> str | None:
        """Swaps an entry's payload for ``payload`` in one step (replace_sm): the
        entry id it now has, or None when the entry is gone."""

    async def append_message_events(self, events: Sequence[MessageEvent]) -> None:
        """Records message state changes for the persister, in their account's bucket."""
