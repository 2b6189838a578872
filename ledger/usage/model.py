"""What a usage query answers, and how its cells fold into the three views."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import msgspec

from ledger.events import MessageState

MAX_DAYS = 92
"""The longest window a usage query covers (about a quarter)."""
_DAY_MS = 86_400_000


class UsageCell(msgspec.Struct, frozen=True, kw_only=True):
    """Messages of one UTC day in one state through one connector."""

    day: str
    """YYYY-MM-DD (UTC) of the acceptance."""
    state: MessageState
    connector: str
    """'' when no connector took it (refused at the ledger, still queued)."""
    messages: int
    parts: int
    charged: int
    """Minor units captured for them."""


class UsageRow(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a view: a day, a state or an operator, and its totals."""

    key: str
    messages: int = 0
    parts: int = 0
    charged: int = 0
    delivered: int = 0
    """Messages of the row in state delivered."""
    by_state: dict[str, int] = msgspec.field(default_factory=dict)


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """An account's usage from ``first`` to ``last`` (UTC days, both included)."""

    account: str
    first: str
    last: str
    by_day: list[UsageRow]
    """Every day of the window, oldest first, days without messages included."""
    by_state: list[UsageRow]
    by_operator: list[UsageRow]
    total: UsageRow

    @classmethod
    def of(cls, account: str, first: date, last: date, cells: Iterable[UsageCell]) -> Usage:
        days = {
            (first + timedelta(days=n)).isoformat(): _Adding(
                (first + timedelta(days=n)).isoformat()
            )
            for n in range((last - first).days + 1)
        }
        states: dict[str, _Adding] = {}
        operators: dict[str, _Adding] = {}
        total = _Adding("total")
        for cell in cells:
            if cell.day in days:
                days[cell.day].add(cell)
            states.setdefault(cell.state.value, _Adding(cell.state.value)).add(cell)
            operators.setdefault(cell.connector, _Adding(cell.connector)).add(cell)
            total.add(cell)
        return cls(
            account=account,
            first=first.isoformat(),
            last=last.isoformat(),
            by_day=[row.row() for row in days.values()],
            by_state=[states[key].row() for key in sorted(states)],
            by_operator=[operators[key].row() for key in sorted(operators)],
            total=total.row(),
        )


class _Adding:
    __slots__ = ("by_state", "charged", "key", "messages", "parts")

    def __init__(self, key: str) -> None:
        self.key = key
        self.messages = self.parts = self.charged = 0
        self.by_state: dict[str, int] = {}

    def add(self, cell: UsageCell) -> None:
        self.messages += cell.messages
        self.parts += cell.parts
        self.charged += cell.charged
        state = cell.state.value
        self.by_state[state] = self.by_state.get(state, 0) + cell.messages

    def row(self) -> UsageRow:
        return UsageRow(
            key=self.key,
            messages=self.messages,
            parts=self.parts,
            charged=self.charged,
            delivered=self.by_state.get(MessageState.DELIVERED.value, 0),
            by_state=dict(sorted(self.by_state.items())),
        )


def usage_window(first: date, last: date) -> tuple[int, int]:
    """[since, until) in unix ms of whole UTC days; ValueError for a window
    that is reversed or longer than `MAX_DAYS`."""
    if last < first:
        raise ValueError(f"the first day ({first}) is after the last ({last})")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once")
    since = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp() * 1000)
    return since, since + ((last - first).days + 1) * _DAY_MS


def day_of(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).date().isoformat()


class UsageQuery(Protocol):
    async def usage(self, account: str, first: date, last: date) -> Usage:
        """The account's messages accepted from ``first`` to ``last`` (UTC days,
        both included); ValueError for a bad account or window."""
