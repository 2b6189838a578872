"""What the admin operations take and show: request and view structs, their
field rules, and `AdminRefused` (an operation refused with a stable code)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from engine.messages.ids import IdFormat
from engine.operators.health import HealthReport
from ledger.model import MAX_AMOUNT

# Patterns end in ``$(?!\n)``: msgspec tests them with Python's ``re``, where
# ``$`` also matches before a final newline ("bank\n" would pass ``^...$``).
PriorityName = Literal["otp", "express", "normal", "bulk"]
AccountId = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9_.\-]{1,15}$(?!\n)",
        description="Also the SMPP system_id: 1 to 15 of A-Z a-z 0-9 _ . -",
    ),
]
SmppPassword = Annotated[
    str, Meta(pattern=r"^[!-~]{1,8}$(?!\n)", description="1 to 8 printable ASCII characters.")
]
Group = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$(?!\n)")]
Groups = Annotated[list[Group], Meta(max_length=64)]
Amount = Annotated[int, Meta(ge=0, le=MAX_AMOUNT)]
MaxBinds = Annotated[int, Meta(ge=0, le=1_000)]
BindThroughput = Annotated[int, Meta(ge=0, le=100_000)]
Window = Annotated[int, Meta(ge=1, le=1_000)]
WebhookSecret = Annotated[str, Meta(max_length=256, pattern=r"^[\x20-\x7e]*$(?!\n)")]
Currency = Annotated[
    str, Meta(pattern=r"^[A-Z]{3}$(?!\n)", description="ISO 4217 code, e.g. EUR, UZS")
]
BasisPoints = Annotated[int, Meta(ge=0, le=10_000, description="1/100 of a percent: 1000 = 10%")]
TaxName = Annotated[str, Meta(max_length=32, pattern=r"^[^\x00-\x1f\x7f]*$(?!\n)")]
SenderPolicyName = Literal["open", "refuse", "rewrite"]
DefaultSender = Annotated[
    str,
    Meta(
        max_length=17,
        description="Alphanumeric (up to 11 GSM characters) or up to 16 digits; empty: none",
    ),
]
Markup = Annotated[
    int, Meta(ge=0, le=1_000_000, description="basis points over the reseller's price: 2500 = 25%")
]
AllowedIps = Annotated[
    list[Annotated[str, Meta(max_length=64)]],
    Meta(max_length=256, description="IP addresses and CIDR networks; empty: any"),
]


class AdminRefused(Exception):
    """An admin operation refused with a stable ``code``; nothing was changed."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class NewAccount(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An account to create; without a password it cannot bind over SMPP."""

    id: AccountId
    password: SmppPassword | None = None
    groups: Groups = msgspec.field(default_factory=list)
    max_binds: MaxBinds = 4
    priority: PriorityName = "normal"
    latin1_allowed: bool = True
    credit_limit: Amount = 0
    throughput: Amount = 0
    """Parts per second across every shard; 0 is unlimited."""
    bind_throughput: BindThroughput = 0
    window: Window = 10
    webhook_url: Annotated[str, Meta(max_length=2048)] = ""
    webhook_secret: WebhookSecret = ""
    message_id_format: IdFormat = "hex"
    currency: Currency | None = None
    """The account's currency, fixed once created; none: the routing's."""
    discount: BasisPoints = 0
    tax_name: TaxName = ""
    tax_rate: BasisPoints = 0
    low_balance: Amount = 0
    """Micro-units: a balance below it raises an alert; 0 raises none."""
    allowed_ips: AllowedIps = msgspec.field(default_factory=list)
    """Where its binds and HTTP logins may come from (docs/customers.md)."""
    reseller: bool = False
    """May own sub-accounts (docs/resellers.md)."""
    parent: AccountId | None = None
    """The reseller that owns it (docs/resellers.md); fixed once created."""
    markup: Markup = 0
    """A sub-account's basis points over its reseller's price."""


class AccountChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to change in an account; an absent field stays as it is."""

    enabled: bool | None = None
    """False refuses every new message of the account at the ledger, on every shard."""
    groups: Groups | None = None
    max_binds: MaxBinds | None = None
    priority: PriorityName | None = None
    latin1_allowed: bool | None = None
    credit_limit: Amount | None = None
    throughput: Amount | None = None
    bind_throughput: BindThroughput | None = None
    window: Window | None = None
    webhook_url: Annotated[str, Meta(max_length=2048)] | None = None
    webhook_secret: WebhookSecret | None = None
    message_id_format: IdFormat | None = None
    """Ids of messages accepted from now on; ids already given keep their form."""
    currency: Currency | None = None
    """Refused unless it is the account's own: its ledger entries are in it."""
    discount: BasisPoints | None = None
    tax_name: TaxName | None = None
    tax_rate: BasisPoints | None = None
    low_balance: Amount | None = None
    sender_policy: SenderPolicyName | None = None
    """What an unapproved sender gets: "open", "refuse" or "rewrite" (docs/senders.md)."""
    default_sender: DefaultSender | None = None
    """The sender "rewrite" puts on an unapproved message; "" clears it."""
    allowed_ips: AllowedIps | None = None
    """Replaces the list whole; [] allows any address again."""
    reseller: bool | None = None
    """May own sub-accounts; refused false while it owns some."""
    markup: Markup | None = None
    """A sub-account's basis points over its reseller's price."""


class AccountView(msgspec.Struct, frozen=True, kw_only=True):
    """An account as the admin API shows it: never a password hash or a secret."""

    id: str
    enabled: bool
    groups: list[str]
    max_binds: int
    priority: PriorityName
    latin1_allowed: bool
    credit_limit: int
    throughput: int
    bind_throughput: int
    window: int
    webhook_url: str
    message_id_format: IdFormat
    currency: str
    discount: int
    tax_name: str
    tax_rate: int
    low_balance: int
    has_password: bool
    has_webhook_secret: bool
    binds: int
    """Live SMPP binds on this shard."""
    in_ledger: bool
    """False when the ledger does not know the account (it cannot send)."""
    sender_policy: SenderPolicyName = "open"
    default_sender: str = ""
    allowed_ips: list[str] = msgspec.field(default_factory=list)
    """Where its binds and HTTP logins may come from; empty: anywhere."""
    reseller: bool = False
    parent: str = ""
    """The reseller that owns it; "" for none (docs/resellers.md)."""
    markup: int = 0


class ConnectorView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    running: bool
    """False after `stop_connector`, until `start_connector`."""
    binds: list[str]
    """State of each bind: connecting, bound, backing_off, stopped."""
    host: str
    port: int
    system_id: str
    bind: str
    binds_wanted: int
    window: int
    throughput: float
    queue_depth: int
    queue_by_priority: dict[str, int]
    in_flight: int
    waiting_retry: int
    submitted: int
    failed: int
    expired: int
    retried: int
    rate: float
    """submit_sm per second allowed now: ``throughput``, or less while the
    operator throttles (adaptive, AIMD)."""
    throttle_spells: int
    throttled: int
    """Throttling answers since start; never counted as failures."""
    health: HealthReport
    """The last ``health_window`` seconds, and whether routing uses it
    (``routing``: in, out, or on trial)."""


class LedgerBatches(msgspec.Struct, frozen=True, kw_only=True):
    batches: int
    messages: int
    mean: float


class ShardStats(msgspec.Struct, frozen=True, kw_only=True):
    shard: str
    messages: dict[str, int]
    """The pipeline's counters since start: accepted, refused, submitted, ..."""
    queue_depth: dict[str, int]
    """Messages waiting per connector."""
    customer_binds: dict[str, int]
    held_deliveries: int
    webhooks: dict[str, int]
    webhooks_held: int
    ledger_batches: LedgerBatches
