"""The routing configuration as typed structs (the TOML format is in ``config``).

These structs are the contract for every source of a table: a TOML file, the
admin API, PostgreSQL rows. Leaf rules (digits, ranges, lengths) are ``Meta``
constraints so msgspec checks them; rules across fields and sections live in
``router.checks``.
"""

from datetime import datetime, time
from typing import Annotated, Literal

import msgspec

from router.facts import PriorityClass

Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^\S+$")]
Digits = Annotated[str, msgspec.Meta(min_length=1, max_length=15, pattern=r"^[0-9]+$")]
TariffPrefix = Annotated[str, msgspec.Meta(max_length=15, pattern=r"^[0-9]*$")]
"""A tariff prefix may be empty: a rate for every destination not priced otherwise."""
CountryCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2."""
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
"""ISO 4217 alphabetic code."""
MccMnc = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5,6}$")]
"""Mobile country code and mobile network code, concatenated (ITU-T E.212)."""
Price = Annotated[int, msgspec.Meta(ge=0)]
"""Micro-units of its tariff's currency per message part."""
BasisPoints = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
"""A discount in hundredths of a percent: 250 is 2.5% off."""
Weight = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
CommandStatus = Annotated[int, msgspec.Meta(ge=1, le=0xFFFFFFFF)]
"""A non-zero SMPP command_status (SMPP 3.4 §5.1.3)."""
DataCoding = Annotated[int, msgspec.Meta(ge=0, le=0xFF)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
LocalTime = Annotated[time, msgspec.Meta(tz=False)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

NonEmpty = msgspec.Meta(min_length=1)
Identifiers = Annotated[list[Identifier], NonEmpty]
Prefixes = Annotated[list[Digits], NonEmpty]
Networks = Annotated[list[MccMnc], NonEmpty]
DataCodings = Annotated[list[DataCoding], NonEmpty]
Priorities = Annotated[list[PriorityClass], NonEmpty]
Weekdays = Annotated[list[Weekday], NonEmpty]
NationalLengths = Annotated[list[Annotated[int, msgspec.Meta(ge=1, le=14)]], NonEmpty]
Weights = Annotated[dict[Identifier, Weight], NonEmpty]


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Config sections are frozen and refuse unknown keys (a typo is an error)."""


class CountryConfig(_Section):
    """How national numbers of one country are written (see ``router.numbers``)."""

    calling_code: Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{0,2}$")]
    national_lengths: NationalLengths
    trunk_prefix: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{0,3}$")] = ""
    international_prefix: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{0,4}$")] = "00"


class PlanAssignment(_Section):
    """A plan held from ``valid_from`` (inclusive) until ``valid_until`` (exclusive)."""

    plan: Identifier
    """Id of a ``[routing.plans]`` entry."""
    valid_from: AwareDatetime | None = None
    """Absent: held from the start."""
    valid_until: AwareDatetime | None = None
    """Absent: held with no end."""


class AccountConfig(_Section):
    """Routing settings of one account; the account itself belongs to the engine."""

    default_country: CountryCode | None = None
    sell_tariff: Identifier | None = None
    plans: list[PlanAssignment] = msgspec.field(default_factory=list)
    """Plans it holds, one at a time: ahead of its groups' plans and of ``sell_tariff``."""


class GroupConfig(_Section):
    """Plans of an account group; which accounts are in it is the engine's setting."""

    plans: list[PlanAssignment] = msgspec.field(default_factory=list)
    """Plans for its accounts when they hold none, one at a time; an account's first group
    first."""


class ConnectorConfig(_Section):
    """A connector routes may name, and what it charges us."""

    cost_tariff: Identifier | None = None


class RateConfig(_Section):
    """One tariff row: a price per part for a prefix, optionally time-bounded."""

    prefix: TariffPrefix
    price: Price
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class TariffConfig(_Section):
    """A named price list, in ``currency`` (default: the table's)."""

    rates: list[RateConfig]
    currency: Currency | None = None
    """ISO 4217 code of its prices; none is the table's ``currency``."""


class TierConfig(_Section):
    """Parts of a month beyond ``after_parts`` cost ``discount`` less."""

    after_parts: Annotated[int, msgspec.Meta(ge=1)]
    """Parts of the month before the tier applies."""
    discount: BasisPoints
    """Basis points off the list price of the parts beyond (500 = 5%)."""


class PlanConfig(_Section):
    """A named offer: the sell tariff its holders pay, and volume tiers for their invoice."""

    tariff: Identifier
    """The sell tariff its holders pay; list prices in that tariff's currency."""
    tiers: list[TierConfig] = msgspec.field(default_factory=list)
    """Ascending ``after_parts``; settled on the month's invoice, not at accept."""


class DateWindowConfig(_Section):
    """From ``start`` (inclusive) until ``end`` (exclusive); either may be open."""

    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class TimeWindowConfig(_Section):
    """A daily window in ``timezone``, on ``weekdays`` (all when absent)."""

    start: LocalTime
    end: LocalTime
    timezone: str = "UTC"
    weekdays: Weekdays | None = None


class CommonFilters(_Section):
    """Filters both MT and MO routes take; every one present must match."""

    source: str | None = None
    destination_prefix: Prefixes | None = None
    destination: str | None = None
    destination_network: Networks | None = None
    content: str | None = None
    data_coding: DataCodings | None = None
    tag: Identifiers | None = None
    date: DateWindowConfig | None = None
    time_of_day: TimeWindowConfig | None = None


class MtFilters(CommonFilters):
    """MT routes also filter on who sends and how urgent it is."""

    account: Identifiers | None = None
    account_group: Identifiers | None = None
    priority: Priorities | None = None


class MoFilters(CommonFilters):
    """MO routes also filter on the connector the message came from."""

    connector: Identifiers | None = None


class _Target(_Section, tag_field="kind"):
    """Targets are told apart by their ``kind`` key."""


class RejectTarget(_Target, tag="reject"):
    command_status: CommandStatus
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class StaticTarget(_Target, tag="static"):
    connector: Identifier


class WeightedTarget(_Target, tag="weighted"):
    weights: Weights


class RoundRobinTarget(_Target, tag="round_robin"):
    connectors: Identifiers


class FailoverTarget(_Target, tag="failover"):
    connectors: Identifiers


class LeastCostTarget(_Target, tag="least_cost"):
    connectors: Identifiers


class MoStaticTarget(_Target, tag="static"):
    account: Identifier


class MoWeightedTarget(_Target, tag="weighted"):
    weights: Weights


class MoRoundRobinTarget(_Target, tag="round_robin"):
    accounts: Identifiers


class MoFailoverTarget(_Target, tag="failover"):
    accounts: Identifiers


MtTarget = (
    StaticTarget
    | WeightedTarget
    | RoundRobinTarget
    | FailoverTarget
    | LeastCostTarget
    | RejectTarget
)
MoTarget = MoStaticTarget | MoWeightedTarget | MoRoundRobinTarget | MoFailoverTarget | RejectTarget


class MtRouteConfig(_Section):
    """One MT route; ``sell_tariff`` prices it when the account has no price."""

    id: Identifier
    target: MtTarget
    filters: MtFilters = msgspec.field(default_factory=MtFilters)
    unless: MtFilters | None = None
    sell_tariff: Identifier | None = None


class MoRouteConfig(_Section):
    """One MO route: its target names accounts."""

    id: Identifier
    target: MoTarget
    filters: MoFilters = msgspec.field(default_factory=MoFilters)
    unless: MoFilters | None = None


class RoutingConfig(_Section):
    """A whole routing table, as loaded by ``router.config``."""

    currency: Currency
    countries: dict[CountryCode, CountryConfig] = msgspec.field(default_factory=dict)
    accounts: dict[Identifier, AccountConfig] = msgspec.field(default_factory=dict)
    connectors: dict[Identifier, ConnectorConfig] = msgspec.field(default_factory=dict)
    tariffs: dict[Identifier, TariffConfig] = msgspec.field(default_factory=dict)
    plans: dict[Identifier, PlanConfig] = msgspec.field(default_factory=dict)
    groups: dict[Identifier, GroupConfig] = msgspec.field(default_factory=dict)
    networks: dict[Digits, MccMnc] = msgspec.field(default_factory=dict)
    mt_routes: list[MtRouteConfig] = msgspec.field(default_factory=list)
    mo_routes: list[MoRouteConfig] = msgspec.field(default_factory=list)
