"""A reseller's monthly margin, from PostgreSQL, credited once per month.

A sub-account's message is accepted at its own price and its CDR lists its
reseller's price (`Pricer.sell`), so each message's margin is ``charged -
list_price * charged parts``. The charged parts are ``charged /
price_per_part`` (a capture is always price per part x the parts sent), not
the row's ``parts``: a message shortened by replace_sm keeps the larger
count there while its capture is for the new one. The month's margins of
every sub-account of a reseller are credited to the reseller as one ledger
adjust entry whose reference names the month (``reseller-margin:YYYY-MM``):
the ledger takes it once, so running the settlement again credits nothing
twice. A month is settled only once it
is over, the persister has written all of it to PostgreSQL and every
message of it is final (charged or released), like an invoice
(docs/billing.md), so the amount cannot change after it was credited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

import msgspec

from engine.billing.invoices import MARGIN_PREFIX, Persisted
from engine.billing.periods import Period
from ledger.model import AdjustOutcome
from ledger.postgres.pool import LazyPool
from ledger.protocol import Ledger

_PERIOD = "accepted_at >= $2 AND accepted_at < $3 AND created_at >= $2 AND created_at < $3"
_MARGINS = f"""
SELECT COALESCE(sum(m.charged - m.list_price * (m.charged / m.price_per_part))
                FILTER (WHERE m.charged > 0 AND m.price_per_part > 0
                          AND m.list_currency = m.currency), 0)::bigint
           AS margin,
       count(*) FILTER (
           WHERE m.charged IS NULL AND COALESCE(m.held, 1) <> 0
             AND NOT EXISTS (SELECT 1 FROM ledger_entries l
                              WHERE l.message_id = m.message_id AND l.kind = 'release')
       ) AS open
  FROM messages m
 WHERE m.account = ANY($1::text[]) AND {_PERIOD}
"""


class MarginOutcome(StrEnum):
    CREDITED = "credited"
    ALREADY_CREDITED = "already_credited"
    NOTHING = "nothing"
    """No margin this month: no entry is written."""
    NOT_FINAL = "not_final"
    """Messages of the month are still open: settle again once they are final."""
    MONTH_NOT_OVER = "month_not_over"
    NOT_PERSISTED = "not_persisted"
    """PostgreSQL does not hold all of the month yet (the persister lags):
    settle again once it has caught up."""
    REFUSED = "refused"
    """The ledger refused the entry (the reseller is unknown to it)."""


class MarginLine(msgspec.Struct, frozen=True, kw_only=True):
    reseller: str
    month: str
    amount: int
    """Micro-units of the reseller's currency."""
    outcome: MarginOutcome
    open_messages: int = 0


def margin_reference(period: Period) -> str:
    return f"{MARGIN_PREFIX}{period.label}"


class MarginSettlement:
    """Reads margins from PostgreSQL and credits them in the ledger."""

    def __init__(
        self, database: LazyPool | str, ledger: Ledger, persisted: Persisted | None = None
    ) -> None:
        """``persisted``: the instant before which every ledger and message
        event is in PostgreSQL (the persister's lag, as for `Invoices`);
        None: always now."""
        self.database = database if isinstance(database, LazyPool) else LazyPool(database)
        self.ledger = ledger
        self._persisted = persisted

    async def close(self) -> None:
        await self.database.close()

    async def margin(self, sub_accounts: Sequence[str], period: Period) -> tuple[int, int]:
        """(margin, open messages) of the sub-accounts' messages of the period."""
        pool = await self.database.pool()
        row = await pool.fetchrow(_MARGINS, list(sub_accounts), period.start, period.end)
        return int(row["margin"]), int(row["open"])

    async def settle(
        self,
        reseller: str,
        sub_accounts: Sequence[str],
        period: Period,
        now: datetime | None = None,
    ) -> MarginLine:
        """Credits the reseller's margin of ``period`` once; what it did."""
        line = MarginLine(
            reseller=reseller, month=period.label, amount=0, outcome=MarginOutcome.NOTHING
        )
        if period.end > (now or datetime.now(UTC)):
            return msgspec.structs.replace(line, outcome=MarginOutcome.MONTH_NOT_OVER)
        if self._persisted is not None and await self._persisted() < period.end:
            return msgspec.structs.replace(line, outcome=MarginOutcome.NOT_PERSISTED)
        amount, still_open = await self.margin(sub_accounts, period) if sub_accounts else (0, 0)
        if still_open:
            return msgspec.structs.replace(
                line, outcome=MarginOutcome.NOT_FINAL, amount=amount, open_messages=still_open
            )
        if amount == 0:
            return line
        result = await self.ledger.adjust(
            reseller,
            amount,
            reason=f"reseller margin {period.label}",
            reference=margin_reference(period),
        )
        outcome = {
            AdjustOutcome.OK: MarginOutcome.CREDITED,
            AdjustOutcome.DUPLICATE: MarginOutcome.ALREADY_CREDITED,
        }.get(result.outcome, MarginOutcome.REFUSED)
        return msgspec.structs.replace(line, amount=amount, outcome=outcome)
