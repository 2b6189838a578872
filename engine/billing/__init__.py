"""Billing on top of the ledger: currencies and exchange rates, pricing in the
account's currency, CDRs, invoices, payments and reconciliation (docs/billing.md)."""
