"""An account's usage over whole UTC days, from its message history: per day,
per state and per operator (connector), with parts and the amount charged.

Two backends answer the same `UsageQuery`: PostgreSQL (`PgUsageQuery`, one
GROUP BY over the persister's `messages`) and any `MessageQuery` read page by
page (`ListedUsageQuery`, the in-memory history of `smsgw dev`)."""

from ledger.usage.listed import ListedUsageQuery
from ledger.usage.model import MAX_DAYS, Usage, UsageCell, UsageQuery, UsageRow, usage_window
from ledger.usage.postgres import PgUsageQuery

__all__ = [
    "MAX_DAYS",
    "ListedUsageQuery",
    "PgUsageQuery",
    "Usage",
    "UsageCell",
    "UsageQuery",
    "UsageRow",
    "usage_window",
]
