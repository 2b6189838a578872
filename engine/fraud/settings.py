"""What the fraud guard allows: the shard's ``[fraud]`` section and each
account's geo-permissions and limits.

An account's `FraudSettings` come from the admin API (kept in the store,
shared by every shard) or else from its ``[accounts.fraud]`` table; a limit
it leaves unset is the shard's default (`FraudConfig.limits`). This module
imports nothing of the engine: `AccountConfig` holds a `FraudSettings`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from router.calling_codes import COUNTRY_PREFIXES

COUNTRIES = tuple(sorted(set(COUNTRY_PREFIXES.values())))
"""ISO 3166-1 alpha-2 codes the router can name as a destination's country."""

Rule = Literal["geo", "velocity", "spike", "conversion"]
CODES: dict[str, str] = {
    "geo": "blocked_geo",
    "velocity": "blocked_velocity",
    "spike": "blocked_spike",
    "conversion": "blocked_conversion",
}
"""The refusal code (`Refused.code`, the HTTP API's) of each rule."""

Country = Literal[COUNTRIES]  # type: ignore[valid-type]  # an enum of the router's countries
"""ISO 3166-1 alpha-2: a code the router never gives is refused, not ignored."""
# ``$(?!\n)``: msgspec tests patterns with Python's ``re``, whose ``$`` also
# matches before a final newline.
Prefix = Annotated[
    str, Meta(pattern=r"^[0-9]{1,15}$(?!\n)", description="International digits, no '+'.")
]
Countries = Annotated[tuple[Country, ...], Meta(max_length=300)]
Prefixes = Annotated[tuple[Prefix, ...], Meta(max_length=1_000)]
Ratio = Annotated[float, Meta(ge=0.0, le=1.0)]
DAY = 86_400.0


class FraudLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Thresholds of the automatic rules; 0 turns a rule off (docs/fraud.md)."""

    per_number_per_hour: Annotated[int, Meta(ge=0)] = 20
    """Messages to one number within the last hour; the next one is refused
    and the number blocked (``blocked_velocity``)."""
    per_prefix_per_hour: Annotated[int, Meta(ge=0)] = 1_000
    """Messages to one destination prefix (`FraudConfig.prefix_digits`)
    within the last hour; the next one blocks the prefix."""
    spike_factor: Annotated[float, Meta(ge=0.0)] = 5.0
    """A prefix's last hour may hold this many times its hourly baseline
    (`FraudConfig.baseline_hours`) before it is blocked (``blocked_spike``)."""
    spike_floor: Annotated[int, Meta(ge=1)] = 100
    """A prefix's last hour may always hold this many, however small its
    baseline: a new prefix is not blocked at its first messages."""
    conversion_min_ratio: Ratio = 0.2
    """Approved OTP codes per code sent to a prefix below which it is blocked
    (``blocked_conversion``), once `conversion_min_codes` were sent."""
    conversion_min_codes: Annotated[int, Meta(ge=1)] = 30
    """Codes sent to a prefix within the conversion window before its ratio counts."""


_LIMIT_FIELDS = FraudLimits.__struct_fields__


class FraudSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One account's geo-permissions and limits. With neither ``countries``
    nor ``prefixes`` every destination is allowed; else a destination must be
    in one of the countries or start with one of the prefixes."""

    countries: Countries = ()
    """Destination countries allowed (the router's `MtRouted.country`)."""
    prefixes: Prefixes = ()
    """Destination number prefixes allowed, in international digits."""
    per_number_per_hour: Annotated[int, Meta(ge=0)] | None = None
    """None here and below: the shard's default (`FraudConfig.limits`)."""
    per_prefix_per_hour: Annotated[int, Meta(ge=0)] | None = None
    spike_factor: Annotated[float, Meta(ge=0.0)] | None = None
    spike_floor: Annotated[int, Meta(ge=1)] | None = None
    conversion_min_ratio: Ratio | None = None
    conversion_min_codes: Annotated[int, Meta(ge=1)] | None = None

    def limits(self, defaults: FraudLimits) -> FraudLimits:
        """``defaults`` with what these settings set."""
        given = {name: getattr(self, name) for name in _LIMIT_FIELDS}
        return msgspec.structs.replace(
            defaults, **{name: value for name, value in given.items() if value is not None}
        )


class FraudConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The shard's ``[fraud]`` section: the guard's defaults and timings."""

    enabled: bool = False
    """True installs the guard (a screen on every message, counts shared
    between shards). Off until asked: its default limits would refuse a bulk
    campaign to a range the account never sent to before (``spike_floor``)."""
    limits: FraudLimits = FraudLimits()
    """Every account's limits unless its own settings say otherwise."""
    prefix_digits: Annotated[int, Meta(ge=3, le=12)] = 7
    """Leading digits of an international number that make its prefix (the
    unit of the velocity, spike and conversion rules)."""
    baseline_hours: Annotated[int, Meta(ge=1, le=168)] = 24
    """Hours before the last one whose mean is a prefix's spike baseline."""
    conversion_window: Annotated[float, Meta(ge=60.0, le=DAY)] = 3_600.0
    """Seconds of codes sent (and approvals) the conversion ratio is taken over."""
    conversion_grace: Annotated[float, Meta(ge=0.0, le=DAY)] = 600.0
    """Seconds a code may wait for its approval: codes younger than this are
    not counted yet, so a burst of fresh codes is not read as unconverted."""
    velocity_block_for: Annotated[float, Meta(ge=3_600.0, le=7 * DAY)] = 3_600.0
    """Seconds a number or prefix over a velocity limit stays blocked (to
    the end of that minute); at least the hour the limits count."""
    block_for: Annotated[float, Meta(ge=0.0, le=365 * DAY)] = DAY
    """Seconds a spike or conversion block lasts; 0: until an admin lifts it."""
    allow_for_max: Annotated[float, Meta(ge=0.0, le=365 * DAY)] = 30 * DAY
    """The longest allowance an admin's lift may give."""
    sync_interval: Annotated[float, Meta(ge=0.05, le=60.0)] = 1.0
    """Seconds between two exchanges of counts with the other shards: the
    limits hold cluster-wide within what the shards pass in this time."""
    reload_interval: Annotated[float, Meta(ge=1.0, le=3_600.0)] = 30.0
    """Seconds between two full reloads of blocks, lifts and settings (a
    change published while a shard was not subscribed is picked up then)."""
