"""The audit log a page at a time, newest first, filtered by actor, action
and account, for the console's audit page. Reads the log's Redis stream in
batches from a cursor (an entry id), so a long log is never read whole."""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from engine.admin.audit import AuditEntry, AuditLog

BATCH = 500
SCAN_LIMIT = 5_000
"""Entries read at most per page: a rare filter ends a page early (with a
cursor to go on) rather than read the whole log in one request."""


class AuditFilter(NamedTuple):
    actor: str = ""
    action: str = ""
    account: str = ""
    """Matches the entry's target, or its ``account`` detail."""

    def matches(self, entry: AuditEntry) -> bool:
        if self.actor and self.actor != entry.actor:
            return False
        if self.action and not entry.action.startswith(self.action):
            return False
        if self.account:
            return self.account in (entry.target, entry.detail.get("account"))
        return True


class AuditPage(NamedTuple):
    entries: list[AuditEntry]
    next_cursor: str | None
    """Where the next (older) page starts; None at the log's start."""


async def audit_page(
    log: AuditLog, wanted: AuditFilter, cursor: str | None, size: int
) -> AuditPage:
    """Up to ``size`` entries matching ``wanted``, older than ``cursor``."""
    if log.redis is None:
        return _memory_page(await log.recent(log.length), wanted, cursor, size)
    found: list[AuditEntry] = []
    upper = f"({cursor}" if cursor else "+"
    scanned = 0
    while scanned < SCAN_LIMIT:
        rows = await log.redis.xrevrange(log.stream, max=upper, count=BATCH)
        for row_id, fields in rows:
            scanned += 1
            entry = msgspec.json.decode(fields[b"entry"], type=AuditEntry)
            last = row_id.decode() if isinstance(row_id, bytes) else str(row_id)
            if wanted.matches(entry):
                found.append(entry)
                if len(found) == size:
                    return AuditPage(found, last)
        if len(rows) < BATCH:
            return AuditPage(found, None)
        upper = f"({last}"
    return AuditPage(found, upper[1:])


def _memory_page(
    newest_first: list[AuditEntry], wanted: AuditFilter, cursor: str | None, size: int
) -> AuditPage:
    start = int(cursor) if cursor and cursor.isdigit() else 0
    found: list[AuditEntry] = []
    for index in range(start, len(newest_first)):
        if wanted.matches(newest_first[index]):
            found.append(newest_first[index])
            if len(found) == size:
                return AuditPage(found, str(index + 1))
    return AuditPage(found, None)
