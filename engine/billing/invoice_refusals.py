"""Why an invoice or credit note is not issued: each refusal has a stable `code`
(what the API and CLI branch on) and a message that says what to do."""

from __future__ import annotations


class InvoiceRefused(Exception):
    code = "invoice_refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnknownAccount(InvoiceRefused):
    code = "unknown_account"


class PeriodNotOver(InvoiceRefused):
    """Messages may still be accepted in it."""

    code = "period_not_over"


class NotPersisted(InvoiceRefused):
    """Events of the period still wait in Redis for the persister: PostgreSQL
    does not hold all of the period yet."""

    code = "not_persisted"


class NotFinal(InvoiceRefused):
    """Some messages of the period are neither captured nor released yet."""

    code = "not_final"

    def __init__(self, detail: str, open_messages: int) -> None:
        super().__init__(detail)
        self.open_messages = open_messages


class AlreadyIssued(InvoiceRefused):
    code = "already_issued"

    def __init__(self, detail: str, invoice_id: str) -> None:
        super().__init__(detail)
        self.invoice_id = invoice_id


class ForeignCurrency(InvoiceRefused):
    """Messages priced in another currency than the account's (the account's
    currency is fixed, so this is a data error to look into)."""

    code = "foreign_currency"


class UnknownInvoice(InvoiceRefused):
    code = "unknown_invoice"


class NotAnInvoice(InvoiceRefused):
    """A credit note corrects an invoice, never another credit note."""

    code = "not_an_invoice"


class CreditExceeded(InvoiceRefused):
    """A credit note for more than what is left of its invoice."""

    code = "credit_exceeded"
