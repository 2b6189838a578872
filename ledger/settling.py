"""What both ledger backends share about settling: a single capture or
release is a list of one, and every item of a list is checked before any is
settled, so a bad one changes nothing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from ledger.model import (
    Capture,
    Release,
    SettleResult,
    check_account,
    check_amount,
    check_message_id,
    check_outbox_id,
)


def checked_captures(captures: Sequence[Capture]) -> Sequence[Capture]:
    for message_id, account, amount, outbox_id in captures:
        check_amount("amount", amount)
        _check(message_id, account, outbox_id)
    return captures


def checked_releases(releases: Sequence[Release]) -> Sequence[Release]:
    for message_id, account, outbox_id in releases:
        _check(message_id, account, outbox_id)
    return releases


def _check(message_id: str, account: str, outbox_id: str) -> None:
    check_message_id(message_id)
    check_account(account)
    check_outbox_id(outbox_id)


class SettlesLists(ABC):
    """`capture` and `release` of one message, through the backend's lists."""

    @abstractmethod
    async def capture_many(self, captures: Sequence[Capture]) -> list[SettleResult]: ...

    @abstractmethod
    async def release_many(self, releases: Sequence[Release]) -> list[SettleResult]: ...

    async def capture(
        self, message_id: str, account: str, amount: int, *, outbox_id: str = ""
    ) -> SettleResult:
        return (await self.capture_many([(message_id, account, amount, outbox_id)]))[0]

    async def release(self, message_id: str, account: str, *, outbox_id: str = "") -> SettleResult:
        return (await self.release_many([(message_id, account, outbox_id)]))[0]
