"""The engine: one shard's rooms, and the one interface the HTTP front uses.

Rooms (each a sub-package whose ``__init__`` says what lives there):

- `engine.customers`: SMPP sessions of customers, their accounts, binds,
  credentials and the receipts and MO delivered to them;
- `engine.operators`: connectors to operators, their binds, throughput and
  per-connector scheduling;
- `engine.messages`: the message pipeline by stage (accept, outbox, settlement,
  receipts, MO), the message lifecycle table, history and recent states;
- `engine.webhooks`: receipts and events POSTed to HTTP customers;
- `engine.admin`: changes to accounts, routes and connectors, published to peers;
- `engine.shard`: the shard registry, outbox takeover and parked receipts;
- `engine.loop`: event-loop building blocks (per-iteration batches, token buckets).

At the top: `engine.config` (the shard's typed configuration), `engine.gateway`
(one shard, wired and run) and `engine.facade` (`Engine`, what the HTTP front
calls).

May import: smpp, router, ledger (and the libraries). Never api or smsgw.

This module is the engine's public face for api/: the HTTP front imports
from ``engine`` and nothing deeper, so the rooms above may move inside without
touching it. The names below are the facade, its request and answer types, the
administration's views, and the few types of the lower rooms that the HTTP
front validates or shows.
"""

from engine.admin.administration import (
    AccountChanges,
    AccountView,
    Administration,
    AdminRefused,
    ConnectorView,
    NewAccount,
    PriorityName,
    ShardStats,
    SmppPassword,
)
from engine.admin.audit import ACTOR_HEADER, acting_as, requested_actor
from engine.billing.cdrs import FORMATS as CDR_FORMATS
from engine.billing.cdrs import Cdrs, Reporting
from engine.billing.cdrs import Format as CdrFormat
from engine.billing.currencies import check_currency
from engine.billing.invoice_model import Invoice
from engine.billing.invoice_refusals import AlreadyIssued, InvoiceRefused, NotFinal
from engine.billing.invoice_render import invoice_csv, invoice_pdf
from engine.billing.invoices import MAX_PAGE as MAX_INVOICE_PAGE
from engine.billing.invoices import Invoices
from engine.billing.periods import Period, month
from engine.billing.rate_store import ExchangeRates, RateConflict
from engine.billing.rates import MAX_CSV_ROWS, ExchangeRate, RateIssues, parse_rates_csv
from engine.config import ApiConfig
from engine.console.dashboard_sampler import DashboardSampler, Sample
from engine.customers.accounts import AccountConfig
from engine.customers.allowed_ips import ip_allowed
from engine.customers.idempotency import Clash, IdempotencyStore, StoredAnswer, fingerprint
from engine.customers.logins import LoginAttempt, LoginVerdict
from engine.facade import Engine
from engine.fraud.guard import LIFT_ALLOWANCE, FraudGuard
from engine.fraud.rules import Source as FraudSource
from engine.fraud.settings import FraudConfig, FraudLimits, FraudSettings, Rule
from engine.fraud.store import Allowance, Block
from engine.message_templates import (
    BadVariables,
    MessageTemplate,
    MessageTemplates,
    TemplateIssues,
    TooManyTemplates,
)
from engine.messages.intake import ValidityLimits
from engine.messages.message import Callback, Priority
from engine.messages.waiters import Reached
from engine.operators.connector_config import ConnectorConfig
from engine.optout.csvfile import OptOutIssues
from engine.optout.numbers import BadNumber, check_number
from engine.optout.service import OptOut
from engine.optout.store import Entry as OptOutEntry
from engine.resellers.margins import MarginLine
from engine.resellers.service import Resellers, SubAccount
from engine.resellers.transfers import TransferIncomplete, TransferOutcome, TransferResult
from engine.senders.model import STATES as SENDER_STATES
from engine.senders.model import InvalidSender, SenderId, check_sender
from engine.senders.model import State as SenderState
from engine.senders.service import SenderRefused, SenderRegistry
from engine.sending import Balance, SendItem, SendResult
from engine.verify.model import (
    Checked,
    InvalidVerification,
    Limited,
    NewVerification,
    Snapshot,
    Verdict,
    Verifier,
)
from engine.verify.model import Refused as VerifyRefused
from engine.verify.model import Status as VerificationStatus
from engine.verify.settings import CODE_LENGTH as VERIFY_CODE_LENGTH
from engine.verify.settings import EXPIRY as VERIFY_EXPIRY
from engine.verify.stats import VerifyDay
from engine.webhooks import DeliveryAttempt, check_webhook_url
from ledger.events import MessageState
from ledger.message_query import MAX_PAGE, MessageFilter, MessageRecord, MessageSearch
from ledger.model import MAX_AMOUNT, AdjustOutcome
from ledger.usage import MAX_DAYS as MAX_USAGE_DAYS
from ledger.usage import Usage
from router import MoRouted, MtRouted, Rejected, RouteTrace, RoutingConfig, RoutingConfigError
from smpp.gsm import CHARACTERS as GSM_CHARACTERS
from smpp.smpptime import SmppTimeError, resolve_smpp_time

__all__ = [
    "ACTOR_HEADER",
    "CDR_FORMATS",
    "GSM_CHARACTERS",
    "LIFT_ALLOWANCE",
    "MAX_AMOUNT",
    "MAX_CSV_ROWS",
    "MAX_INVOICE_PAGE",
    "MAX_PAGE",
    "MAX_USAGE_DAYS",
    "SENDER_STATES",
    "VERIFY_CODE_LENGTH",
    "VERIFY_EXPIRY",
    "AccountChanges",
    "AccountConfig",
    "AccountView",
    "AdjustOutcome",
    "AdminRefused",
    "Administration",
    "Allowance",
    "AlreadyIssued",
    "ApiConfig",
    "BadNumber",
    "BadVariables",
    "Balance",
    "Block",
    "Callback",
    "CdrFormat",
    "Cdrs",
    "Checked",
    "Clash",
    "ConnectorConfig",
    "ConnectorView",
    "DashboardSampler",
    "DeliveryAttempt",
    "Engine",
    "ExchangeRate",
    "ExchangeRates",
    "FraudConfig",
    "FraudGuard",
    "FraudLimits",
    "FraudSettings",
    "FraudSource",
    "IdempotencyStore",
    "InvalidSender",
    "InvalidVerification",
    "Invoice",
    "InvoiceRefused",
    "Invoices",
    "Limited",
    "LoginAttempt",
    "LoginVerdict",
    "MarginLine",
    "MessageFilter",
    "MessageRecord",
    "MessageSearch",
    "MessageState",
    "MessageTemplate",
    "MessageTemplates",
    "MoRouted",
    "MtRouted",
    "NewAccount",
    "NewVerification",
    "NotFinal",
    "OptOut",
    "OptOutEntry",
    "OptOutIssues",
    "Period",
    "Priority",
    "PriorityName",
    "RateConflict",
    "RateIssues",
    "Reached",
    "Rejected",
    "Reporting",
    "Resellers",
    "RouteTrace",
    "RoutingConfig",
    "RoutingConfigError",
    "Rule",
    "Sample",
    "SendItem",
    "SendResult",
    "SenderId",
    "SenderRefused",
    "SenderRegistry",
    "SenderState",
    "ShardStats",
    "SmppPassword",
    "SmppTimeError",
    "Snapshot",
    "StoredAnswer",
    "SubAccount",
    "TemplateIssues",
    "TooManyTemplates",
    "TransferIncomplete",
    "TransferOutcome",
    "TransferResult",
    "Usage",
    "ValidityLimits",
    "Verdict",
    "VerificationStatus",
    "Verifier",
    "VerifyDay",
    "VerifyRefused",
    "acting_as",
    "check_currency",
    "check_number",
    "check_sender",
    "check_webhook_url",
    "fingerprint",
    "invoice_csv",
    "invoice_pdf",
    "ip_allowed",
    "month",
    "parse_rates_csv",
    "requested_actor",
    "resolve_smpp_time",
]
