"""The gateway's TOML configuration, typed and validated at load.

Every section is decoded on its own and every problem is reported at once,
each with its place (``accounts[2].max_binds: Expected `int`...``), so an
operator fixes a file in one pass. The routing section goes through the
router's own loader, which reports its problems the same way.

```toml
shard = "shard-1"
shard_number = 1
metrics_port = 9102

[[listeners]]
host = "0.0.0.0"
port = 2775
# tls_cert = "/etc/smsgw/cert.pem"
# tls_key = "/etc/smsgw/key.pem"

[limits]
validity_default = 86400

[session]
enquire_link_interval = 30

[ledger]
namespace = "smsgw"

[[accounts]]
id = "bank"
password_hash = "scrypt$14$8$1$..."   # smsgw hash-password
groups = ["banks"]

[[connectors]]
id = "operator-a"
host = "10.0.0.5"
port = 2775
system_id = "bank"
password = "secret"

[routing]          # the router's format, see router/config.py
currency = "EUR"
```
"""

from __future__ import annotations

import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec

from engine.console.config import ConsoleConfig
from engine.customers.accounts import AccountConfig
from engine.customers.admission import AdmissionLimits
from engine.customers.login_guard import SecurityConfig
from engine.fraud.settings import FraudConfig
from engine.message_templates.config import TemplatesConfig
from engine.messages.intake import ValidityLimits
from engine.numbers import PortabilityConfig
from engine.operators.connector_config import ConnectorConfig
from engine.optout.config import OptOutConfig
from engine.resellers.hierarchy import hierarchy_problem
from engine.verify.settings import VerifySettings
from engine.webhooks import WebhookLimits, check_webhook_url
from ledger.config import LedgerConfig, PersisterConfig
from router import RoutingConfig, RoutingConfigError, load_data
from router.config import SECTIONS as ROUTING_SECTIONS
from router.config import nesting_hint
from router.validation import INVALID, ConfigIssue, convert_all
from smpp.aio import SessionLimits


class ListenerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An address where customers bind over SMPP."""

    host: str = "127.0.0.1"
    """Interface to listen on; `smsgw serve --host` (or SMSGW_HOST) sets it where
    the file does not: the container listens on 0.0.0.0."""
    port: int = 2775
    tls_cert: str = ""
    """PEM certificate chain; with ``tls_key``, the listener speaks SMPP over TLS."""
    tls_key: str = ""


class GatewayLimits(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, dict=True
):
    validity_default: float = 86_400.0
    """Seconds a message may wait when the customer set no validity period."""
    validity_max: float = 172_800.0
    held_receipts_per_account: int = 10_000
    """Receipts and MO one shard holds in memory per account, waiting for a
    window slot; past it they wait in the store only (docs/customers.md)."""
    parked_receipts_per_account: int = 100_000
    """Receipts and MO parked in Redis per account with no receiving bind on
    the shard that has them; past it the oldest are dropped, counted and logged."""
    receipt_ttl: int = 259_200
    """Seconds an operator message id stays matchable to ours (about 180 bytes
    in Redis per part) when no final receipt comes; one that comes drops it
    once applied, so a repeat of that receipt is then counted unknown."""
    unknown_receipt_keep: float = 300.0
    """Seconds a receipt whose id matches nothing is kept and looked up again
    (its submit_sm_resp may be late); then it is counted and given up."""
    unknown_receipts_max: int = 100_000
    """Unmatched receipts kept at once; past it the oldest is given up."""
    drain_timeout: float = 10.0
    """Seconds SIGTERM waits for in-flight windows before unbinding."""
    failover_after: float = 5.0
    """Seconds a connector may have no live bind before its queue moves on."""
    health_interval: float = 0.5
    """How often connector health is checked."""
    shard_heartbeat_interval: float = 1.0
    """How often this shard says it is alive and looks for dead peers' outboxes."""
    shard_heartbeat_ttl: float = 10.0
    """Seconds without a heartbeat after which peers take this shard's outbox over."""
    shard_claim_ttl: float = 30.0
    """Seconds a taken-over outbox stays claimed if its claimer dies; also the
    longest a starting shard waits for a peer to give its own outbox back."""
    audit_length: int = 100_000
    """Admin changes kept in the audit stream (``{namespace}:audit``); older ones are trimmed."""
    redis_timeout: float = 2.0
    """Seconds a Redis call may take before it fails and is tried once more on
    a fresh connection: a stalled Redis costs a customer at most about twice this."""
    admission: AdmissionLimits = AdmissionLimits()
    """``[limits.admission]``: how many of one account's messages may wait at the
    commit point before its submits are shed (ESME_RTHROTTLED, HTTP 429)."""

    def __post_init__(self) -> None:
        if not 0 < self.validity_default <= self.validity_max:
            raise ValueError("need 0 < validity_default <= validity_max")
        if self.redis_timeout <= 0:
            raise ValueError("redis_timeout must be > 0")
        if self.held_receipts_per_account < 1 or self.parked_receipts_per_account < 1:
            raise ValueError("held_ and parked_receipts_per_account must be >= 1")
        if self.audit_length < 1:
            raise ValueError("audit_length must be >= 1")
        beat = self.shard_heartbeat_interval
        if beat <= 0:
            raise ValueError("shard_heartbeat_interval must be > 0")
        if self.shard_heartbeat_ttl <= beat or self.shard_claim_ttl <= beat:
            raise ValueError(
                "shard_heartbeat_ttl and shard_claim_ttl must exceed shard_heartbeat_interval"
            )

    @cached_property
    def validity(self) -> ValidityLimits:
        """Built once (``dict`` makes room for it): the HTTP paths ask per request,
        and its periods are cached on it."""
        return ValidityLimits(self.validity_default, self.validity_max)


class ApiConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The HTTP front (api/) served by the same process."""

    host: str = "127.0.0.1"
    port: int = 0
    """0 turns the HTTP front off (``smsgw dev`` picks 8080)."""
    admin_key_hash: str = ""
    """SHA-256 hex of the admin key (or set SMSGW_ADMIN_KEY); empty: no admin API."""
    max_body_bytes: int = 1_048_576
    max_recipients: int = 1_000
    """Recipients in one POST /v1/messages."""
    max_wait: float = 60.0
    """Longest OTP wait (seconds) a caller may ask for."""
    idempotency_ttl: int = 86_400
    """Seconds an Idempotency-Key is remembered."""


class StartupConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How `smsgw serve` starts (it starts whole or not at all: README, Running a shard)."""

    wait: float = 30.0
    """Seconds an unreachable Redis or PostgreSQL is retried at start, with
    backoff, before `smsgw serve` gives up and exits non-zero; 0 tries once."""

    def __post_init__(self) -> None:
        if self.wait < 0:
            raise ValueError("wait must be >= 0")


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class LoggingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How much each logger says (docs/logging.md). The format follows the
    command: JSON lines for `smsgw serve`, readable lines for `smsgw dev`."""

    level: str = "info"
    """The level of every logger not named in ``levels``."""
    levels: dict[str, str] = msgspec.field(default_factory=dict)
    """Per logger name and its children, e.g. ``{ "smsgw.connector" = "debug" }``."""

    def __post_init__(self) -> None:
        named = {"level": self.level, **{f"levels.{k}": v for k, v in self.levels.items()}}
        wrong = [place for place, level in named.items() if level.lower() not in LOG_LEVELS]
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: a level is one of {', '.join(LOG_LEVELS)}")


class GatewayConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One shard's whole configuration: `smsgw.toml`."""

    shard: str = "shard-0"
    """This shard's name, unique among the shards sharing Redis and PostgreSQL."""
    shard_number: int = 0
    """0..255, part of every message id this shard makes: unique per shard."""
    metrics_host: str = "127.0.0.1"
    """Interface of Prometheus /metrics (`smsgw serve --host` sets it where the file does not)."""
    metrics_port: int = 0
    """Prometheus /metrics of `smsgw serve`; 0 turns it off."""
    persister_in_process: bool = True
    """`smsgw serve` drains events to PostgreSQL itself; false when `smsgw
    ledger persist` runs as its own process (it takes about a quarter of a
    busy shard's CPU)."""
    listeners: tuple[ListenerConfig, ...] = (ListenerConfig(),)
    limits: GatewayLimits = GatewayLimits()
    session: SessionLimits = SessionLimits()
    ledger: LedgerConfig = LedgerConfig()
    persister: PersisterConfig = PersisterConfig()
    """How events are drained to PostgreSQL (workers, retention), by `serve`'s
    persister and by `smsgw ledger persist` reading the same file."""
    accounts: tuple[AccountConfig, ...] = ()
    connectors: tuple[ConnectorConfig, ...] = ()
    routing: RoutingConfig | None = None
    api: ApiConfig = ApiConfig()
    webhooks: WebhookLimits = WebhookLimits()
    logging: LoggingConfig = LoggingConfig()
    startup: StartupConfig = StartupConfig()
    security: SecurityConfig = SecurityConfig()
    """Login throttling and lockout, bind failure codes (docs/security.md)."""
    verify: VerifySettings = VerifySettings()
    """The Verify API's one-time codes (docs/verify.md)."""
    optout: OptOutConfig = OptOutConfig()
    """Opt-out lists and STOP keywords (docs/optout.md)."""
    fraud: FraudConfig = FraudConfig()
    """The fraud guard (docs/fraud.md)."""
    portability: PortabilityConfig = PortabilityConfig()
    """Ported numbers, routed by the network they are on now (docs/portability.md)."""
    console: ConsoleConfig = ConsoleConfig()
    """The web console in `smsgw serve` (docs/console.md)."""
    templates: TemplatesConfig = TemplatesConfig()
    """Customers' message templates: sizes and limits (docs/templates.md)."""


class ConfigError(ValueError):
    """Every problem of one configuration, each with its place."""

    def __init__(self, issues: list[str]) -> None:
        super().__init__("\n".join(issues))
        self.issues = issues


_SECTIONS: dict[str, Any] = {
    "shard": str,
    "shard_number": int,
    "metrics_host": str,
    "metrics_port": int,
    "persister_in_process": bool,
    "limits": GatewayLimits,
    "session": SessionLimits,
    "ledger": LedgerConfig,
    "persister": PersisterConfig,
    "api": ApiConfig,
    "webhooks": WebhookLimits,
    "logging": LoggingConfig,
    "startup": StartupConfig,
    "security": SecurityConfig,
    "verify": VerifySettings,
    "optout": OptOutConfig,
    "fraud": FraudConfig,
    "portability": PortabilityConfig,
    "console": ConsoleConfig,
    "templates": TemplatesConfig,
}
_LISTS: dict[str, Any] = {
    "listeners": ListenerConfig,
    "accounts": AccountConfig,
    "connectors": ConnectorConfig,
}


def load_config_file(path: str | Path, default_host: str | None = None) -> GatewayConfig:
    return load_config(Path(path).read_text(encoding="utf-8"), default_host)


def load_config(text: str, default_host: str | None = None) -> GatewayConfig:
    """``default_host``: the interface of listeners, the HTTP front and metrics
    that the file leaves unset (a container sets 0.0.0.0; else 127.0.0.1)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"TOML: {exc}"]) from None
    return config_from_data(_with_host(data, default_host) if default_host else data)


def _with_host(data: dict[str, Any], host: str) -> dict[str, Any]:
    listeners = data.get("listeners", [{}])
    if isinstance(listeners, list):
        listeners = [
            {"host": host, **item} if isinstance(item, dict) else item for item in listeners
        ]
    api = data.get("api", {})
    return {
        **data,
        "metrics_host": data.get("metrics_host", host),
        "listeners": listeners,
        "api": {"host": host, **api} if isinstance(api, dict) else api,
    }


def config_from_data(data: dict[str, Any]) -> GatewayConfig:
    issues: list[str] = []
    fields: dict[str, Any] = {}
    for name in data.keys() - {*_SECTIONS, *_LISTS, "routing"}:
        hint = nesting_hint(name) if name in ROUTING_SECTIONS else "unknown setting"
        issues.append(f"{name}: {hint}")
    for name, kind in _SECTIONS.items():
        if name in data:
            fields[name] = _convert(data[name], kind, name, issues)
    for name, kind in _LISTS.items():
        if name in data:
            items = data[name] if isinstance(data[name], list) else [data[name]]
            fields[name] = tuple(
                _convert(item, kind, f"{name}[{i}]", issues) for i, item in enumerate(items)
            )
    if "routing" in data:
        try:
            fields["routing"] = load_data(data["routing"])
        except RoutingConfigError as exc:
            issues += [f"routing.{issue}" for issue in exc.issues]
    if not 0 <= (fields.get("shard_number") or 0) <= 255:
        issues.append("shard_number: must be in 0..255")
    _check_references(fields, issues)
    _check_webhooks(fields, issues)
    _check_resellers(fields, issues)
    if issues:
        raise ConfigError(issues)
    return GatewayConfig(**fields)


def _convert(value: Any, kind: Any, place: str, issues: list[str]) -> Any:
    """``value`` as ``kind``, or None with every problem in it added to ``issues``
    (msgspec alone stops at the first; the router's walker goes on)."""
    found: list[ConfigIssue] = []
    try:
        converted = convert_all(value, kind, place, found)
    except ValueError as exc:  # a rule across fields (__post_init__) of a part
        converted = INVALID
        found.append(ConfigIssue(place, str(exc)))
    issues += [str(issue) for issue in found]
    return None if converted is INVALID else converted


def _check_webhooks(fields: dict[str, Any], issues: list[str]) -> None:
    for i, account in enumerate(fields.get("accounts", ())):
        if account is not None and account.webhook_url:
            try:
                check_webhook_url(account.webhook_url)
            except ValueError as exc:
                issues.append(f"accounts[{i}].webhook_url: {exc}")


def _check_resellers(fields: dict[str, Any], issues: list[str]) -> None:
    """The reseller hierarchy's rules (`engine.resellers.hierarchy`), as the
    admin API checks them."""
    accounts = {a.id: a for a in fields.get("accounts", ()) if a is not None}
    routing = fields.get("routing")
    default = str(routing.currency) if routing is not None else "EUR"
    currencies = {a.id: a.currency or default for a in accounts.values()}
    for i, account in enumerate(fields.get("accounts", ())):
        if account is not None:
            problem = hierarchy_problem(accounts, account, currencies)
            if problem is not None:
                issues.append(f"accounts[{i}].{problem[1]}")


def _check_references(fields: dict[str, Any], issues: list[str]) -> None:
    for name in ("accounts", "connectors"):
        seen: set[str] = set()
        for i, item in enumerate(fields.get(name, ())):
            if item is None:
                continue
            if item.id in seen:
                issues.append(f"{name}[{i}].id: {item.id!r} appears twice")
            seen.add(item.id)
