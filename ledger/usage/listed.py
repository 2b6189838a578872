"""Usage read from any message history page by page: the in-memory history
of `smsgw dev`, where there is no database to aggregate in."""

from __future__ import annotations

from datetime import date

from ledger.message_query import MAX_PAGE, MessageFilter, MessageQuery
from ledger.model import check_account
from ledger.usage.model import Usage, UsageCell, day_of, usage_window


class ListedUsageQuery:
    """`UsageQuery` folding every listed message of the window into cells."""

    def __init__(self, history: MessageQuery) -> None:
        self._history = history

    async def usage(self, account: str, first: date, last: date) -> Usage:
        check_account(account)
        since, until = usage_window(first, last)
        cells: dict[tuple[str, str, str], list[int]] = {}
        states = {}
        cursor = None
        window = MessageFilter(since=since, until=until)
        while True:
            page = await self._history.list(account, window, cursor, MAX_PAGE)
            for record in page.items:
                assert record.accepted_at is not None
                key = (day_of(record.accepted_at), record.state.value, record.connector or "")
                states[key] = record.state
                sums = cells.setdefault(key, [0, 0, 0])
                sums[0] += 1
                sums[1] += record.parts
                sums[2] += record.charged or 0
            cursor = page.next_cursor
            if cursor is None:
                break
        return Usage.of(
            account,
            first,
            last,
            (
                UsageCell(
                    day=day,
                    state=states[(day, state, connector)],
                    connector=connector,
                    messages=messages,
                    parts=parts,
                    charged=charged,
                )
                for (day, state, connector), (messages, parts, charged) in cells.items()
            ),
        )
