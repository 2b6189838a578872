"""Billing as the HTTP front and the CLI reach it (`Engine.billing`).

Exchange rates live in Redis (or memory) and every shard holds them; payments,
invoices and CDRs live in PostgreSQL and are there only with a database
(docs/billing.md). Invoicing reads an account's currency, tax and volume tiers
(its plan at the period's end) from the shard, and books a volume rebate as
one ledger adjust entry.
"""

from __future__ import annotations

from datetime import UTC, datetime

from engine.billing.cdrs import Cdrs
from engine.billing.invoice_model import InvoiceAccount, VolumeTier
from engine.billing.invoices import Invoices, Persisted
from engine.billing.payments import Payment, PaymentMethod, Payments
from engine.billing.periods import Period
from engine.billing.rate_store import ExchangeRates
from engine.gateway import Gateway
from ledger.model import AdjustOutcome

LAST_INSTANT = 0.001
"""Seconds before a period's (exclusive) end that are still in it."""


class Billing:
    def __init__(
        self,
        gateway: Gateway,
        rates: ExchangeRates,
        database_url: str | None,
        persisted: Persisted | None = None,
    ) -> None:
        """``persisted``: how far PostgreSQL holds the events (`Invoices`)."""
        self.gateway = gateway
        self.rates = rates
        self.payments: Payments | None = None
        self.invoices: Invoices | None = None
        self.cdrs: Cdrs | None = None
        """None of the three without a database (`smsgw serve --no-database`)."""
        if database_url is not None:
            self.payments = Payments(database_url)
            self.invoices = Invoices(database_url, self.invoice_account, self._rebate, persisted)
            self.cdrs = Cdrs(database_url)

    def currency_of(self, account_id: str) -> str:
        """The account's currency ("" in its config: the routing's)."""
        account = self.gateway.accounts.get(account_id)
        currency = account.currency if account is not None else ""
        return currency or str(self.gateway.pipeline.table.currency)

    def invoice_account(self, account_id: str, period: Period) -> InvoiceAccount | None:
        """What an invoice needs of the account; tiers from the plan it had at
        the period's last instant."""
        account = self.gateway.accounts.get(account_id)
        if account is None:
            return None
        table = self.gateway.pipeline.table
        last = period.end.timestamp() - LAST_INSTANT
        plan = table.plan_of(account.id, last, account.groups)
        tiers = () if plan is None else plan.tiers
        return InvoiceAccount(
            currency=self.currency_of(account_id),
            tax_name=account.tax_name,
            tax_rate=account.tax_rate,
            tiers=tuple(VolumeTier(tier.after_parts, tier.discount) for tier in tiers),
        )

    async def record_top_up(
        self, account: str, amount: int, reference: str, method: str, actor: str
    ) -> None:
        """The payment record of a top-up the ledger took (nothing without a
        database: the ledger entry alone is the money)."""
        if self.payments is None or amount <= 0:
            return
        await self.payments.record(
            Payment(
                account=account,
                reference=reference,
                amount=amount,
                currency=self.currency_of(account),
                method=PaymentMethod(method),
                actor=actor,
                at=datetime.now(UTC),
            )
        )

    async def _rebate(self, account: str, amount: int, reference: str, reason: str) -> None:
        """A volume rebate credited once: the same reference again changes nothing."""
        result = await self.gateway.ledger.adjust(
            account, amount, reason=reason, reference=reference
        )
        if result.outcome not in (AdjustOutcome.OK, AdjustOutcome.DUPLICATE):
            raise RuntimeError(f"volume rebate {reference} of {account} refused: {result.outcome}")

    async def close(self) -> None:
        for part in (self.payments, self.invoices, self.cdrs):
            if part is not None:
                await part.close()
