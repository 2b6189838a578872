"""Customer accounts as the engine knows them, and the binds they hold.

Balances and limits that must hold cluster-wide live in the ledger; what is
here is the per-shard view: credentials, bind limits, message defaults, and
which live SMPP connections can take a deliver_sm for an account.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec

from engine.billing.currencies import check_currency
from engine.customers.allowed_ips import check_allowed_ips
from engine.fraud.settings import FraudSettings
from engine.messages.ids import IdFormat
from engine.messages.message import Priority
from engine.senders.model import check_sender
from smpp.aio import SmppConnection
from smpp.state import SessionState

_RECEIVING = (SessionState.BOUND_RX, SessionState.BOUND_TRX)
SenderPolicyName = Literal["open", "refuse", "rewrite"]


class AccountConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    """The ledger's account id; also the SMPP system_id the customer binds with."""
    password_hash: str
    """`engine.passwords.hash_password` output; never the password itself."""
    groups: tuple[str, ...] = ()
    max_binds: int = 4
    priority: Priority = Priority.NORMAL
    """Class of messages whose priority_flag does not say otherwise."""
    latin1_allowed: bool = True
    credit_limit: int = 0
    throughput: int = 0
    """Parts per second across every shard; 0 is unlimited."""
    bind_throughput: int = 0
    """submit_sm per second on one bind; 0 is unlimited."""
    window: int = 10
    """deliver_sm we may have unanswered on one of the account's binds."""
    webhook_url: str = ""
    """Where receipts of HTTP messages go when a request names no webhook."""
    webhook_secret: str = ""
    """HMAC key signing this account's webhooks."""
    webhook_batch: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    """Receipts to one URL that may share one POST, as a JSON array
    (docs/customers.md); 1 sends each in its own POST."""
    currency: Annotated[str, msgspec.Meta(pattern="^([A-Z]{3})?$")] = ""
    """ISO 4217 code of the account's balance and prices; "" is the routing's
    ``currency``. Its ledger entries are in it: it is set once, at creation."""
    discount: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    """Basis points off every sell price (docs/billing.md)."""
    tax_name: Annotated[str, msgspec.Meta(max_length=32)] = ""
    """The tax its invoices add, e.g. "VAT"; "" with ``tax_rate`` 0 adds none."""
    tax_rate: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    """Basis points of the invoice subtotal (1000 = 10%)."""
    low_balance: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Micro-units: a balance falling below raises an alert (webhook, log,
    metric); 0 raises none."""
    fraud: FraudSettings | None = None
    """Geo-permissions and fraud limits (docs/fraud.md); None: the shard's
    ``[fraud]`` defaults."""
    message_id_format: IdFormat = "hex"
    """Our message ids for this account: "hex" (20 characters) or "decimal"
    (an integer below 2^63, for clients that keep ids as signed 64-bit
    integers); `engine.messages.ids` gives the layout."""
    sender_policy: SenderPolicyName = "open"
    """What a message from a sender ID not approved for the account gets
    (docs/senders.md): "open" goes as it is, "refuse" is refused
    (``sender_not_approved``), "rewrite" goes from ``default_sender``."""
    default_sender: str = ""
    """The sender "rewrite" puts on an unapproved message; it always passes
    the check. Alphanumeric up to 11 GSM characters or up to 16 digits."""
    allowed_ips: tuple[str, ...] = ()
    """Addresses and CIDR networks its binds and HTTP logins may come from;
    empty: any (`engine.customers.allowed_ips`)."""
    reseller: bool = False
    """May own sub-accounts (docs/resellers.md)."""
    parent: str = ""
    """The reseller account that owns this one (docs/resellers.md); "" for none."""
    markup: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    """Basis points a sub-account pays over its reseller's price for the same
    message (docs/resellers.md); only with a ``parent``."""

    def __post_init__(self) -> None:
        if self.currency:
            check_currency(self.currency)
        if self.default_sender:
            check_sender(self.default_sender, "default_sender")
        if self.sender_policy == "rewrite" and not self.default_sender:
            raise ValueError('sender_policy "rewrite" needs a default_sender')
        if self.allowed_ips:
            check_allowed_ips(self.allowed_ips)


class BindRegistry:
    """Live customer binds by account, and the choice of a receiver: the bind
    a message came on while it can take its receipt, else round-robin."""

    def __init__(self, shard: int = 0) -> None:
        self._binds: dict[str, list[SmppConnection]] = {}
        self._turn: dict[str, int] = {}
        self._shard = shard
        self._serials = itertools.count(1)
        self._by_serial: dict[int, SmppConnection] = {}
        self._serial_of: dict[SmppConnection, int] = {}

    def count(self, account: str) -> int:
        return len(self._binds.get(account, ()))

    def add(self, account: str, connection: SmppConnection) -> int:
        """Its serial: never 0, never reused by this process, and its low byte
        is the shard number, so a receipt handled on another shard does not
        take a bind of that shard for it."""
        self._binds.setdefault(account, []).append(connection)
        serial = next(self._serials) << 8 | self._shard
        self._by_serial[serial] = connection
        self._serial_of[connection] = serial
        return serial

    def remove(self, account: str, connection: SmppConnection) -> None:
        binds = self._binds.get(account)
        if binds and connection in binds:
            binds.remove(connection)
        serial = self._serial_of.pop(connection, None)
        if serial is not None:
            del self._by_serial[serial]

    def of(self, account: str) -> list[SmppConnection]:
        return list(self._binds.get(account, ()))

    def all(self) -> Iterator[SmppConnection]:
        for binds in self._binds.values():
            yield from binds

    def has_receiver(self, account: str) -> bool:
        """Whether ``account`` has a receiver or transceiver bind here, busy or
        not. A loop, not `any` over a generator: asked on every send while a
        backlog waits, and 0.5 us cheaper."""
        for connection in self._binds.get(account, ()):
            if connection.state in _RECEIVING and connection.is_open:
                return True
        return False

    def receiving_accounts(self) -> list[str]:
        return [account for account in self._binds if self.has_receiver(account)]

    def receiver(self, account: str, window: int, prefer: int = 0) -> SmppConnection | None:
        """A receiver or transceiver bind of ``account`` with a free window
        slot: the bind ``prefer`` (a serial) if it is one, else the next in turn."""
        binds = self._binds.get(account)
        if not binds:
            return None
        preferred = self._by_serial.get(prefer)
        if preferred is not None and preferred in binds and _free_receiver(preferred, window):
            return preferred
        start = self._turn.get(account, 0)
        for offset in range(len(binds)):
            connection = binds[(start + offset) % len(binds)]
            if _free_receiver(connection, window):
                self._turn[account] = start + offset + 1
                return connection
        return None


def _free_receiver(connection: SmppConnection, window: int) -> bool:
    """A receiver or transceiver bind, open, with a free window slot."""
    return connection.state in _RECEIVING and connection.in_flight < window and connection.is_open
