"""The rules a message passes, in order: geo-permissions, then the automatic
ones (per-number velocity, per-prefix velocity, spike, conversion).

Geo is the account's own list and refuses each message on its own. An
automatic rule that trips becomes a block of the number or prefix
(`engine.fraud.guard`), so its figures are read once, not per message.
Only messages that pass are counted: a blocked prefix's refusals do not
keep its spike going.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from engine.fraud.conversion import ConversionTracker
from engine.fraud.counters import SharedCounters
from engine.fraud.settings import FraudConfig, FraudLimits, FraudSettings, Rule

HOUR = 3_600.0
MINUTE = 60
Source = Literal["admin", "config", "default"]
"""Where an account's settings come from: the admin API, the config file, or none set."""


class Trip(NamedTuple):
    """An automatic rule tripped for ``prefix`` (a whole number for the
    per-number limit): ``reason`` names the rule and its figures."""

    rule: Rule
    prefix: str
    reason: str


class AccountRules(NamedTuple):
    """One account's settings resolved against the shard's defaults."""

    settings: FraudSettings
    limits: FraudLimits
    source: Source
    countries: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, settings: FraudSettings, defaults: FraudLimits, source: Source) -> AccountRules:
        return cls(
            settings,
            settings.limits(defaults),
            source,
            frozenset(settings.countries),
            tuple(settings.prefixes),
        )

    def geo_refusal(self, destination: str, country: str, prefix: str) -> str | None:
        """Why ``destination`` is outside the account's destinations, or None."""
        if not self.countries and not self.prefixes:
            return None
        if country in self.countries or destination.startswith(self.prefixes):
            return None
        allowed = "; ".join(
            f"{name} {', '.join(values)}"
            for name, values in (
                ("countries", self.settings.countries),
                ("prefixes", self.settings.prefixes),
            )
            if values
        )
        where = f"country {country}" if country else "no known country"
        return f"geo: prefix {prefix} ({where}) is outside the account's destinations ({allowed})"


def minute_counters(config: FraudConfig) -> SharedCounters:
    """Per-minute counts back as far as the longest window asks."""
    longest = max(HOUR, config.conversion_window + config.conversion_grace)
    return SharedCounters("minutes", MINUTE, int(longest // MINUTE) + 1)


def hour_counters(config: FraudConfig) -> SharedCounters:
    """Per-hour counts of the spike baseline: its hours and the last one."""
    return SharedCounters("hours", int(HOUR), config.baseline_hours + 2)


class AutomaticRules:
    def __init__(
        self,
        config: FraudConfig,
        minutes: SharedCounters,
        hours: SharedCounters,
        conversion: ConversionTracker,
    ) -> None:
        self._baseline_hours = config.baseline_hours
        self._minutes = minutes
        self._hours = hours
        self._conversion = conversion

    def count(self, account: str, destination: str, prefix: str, now: float) -> None:
        """A message to ``destination`` passed."""
        self._minutes.add(f"number:{account}:{destination}", now)
        self._minutes.add(f"prefix:{account}:{prefix}", now)
        self._hours.add(f"prefix-hours:{account}:{prefix}", now)

    def check(
        self, account: str, destination: str, prefix: str, limits: FraudLimits, now: float
    ) -> Trip | None:
        """The first rule the next message to ``destination`` would break."""
        limit = limits.per_number_per_hour
        if limit:
            sent = self._minutes.window(f"number:{account}:{destination}", HOUR, now)
            if sent >= limit:
                return Trip("velocity", destination, _velocity(sent, destination, limit, "number"))
        last_hour = self._minutes.window(f"prefix:{account}:{prefix}", HOUR, now)
        limit = limits.per_prefix_per_hour
        if limit and last_hour >= limit:
            return Trip(
                "velocity", prefix, _velocity(last_hour, f"prefix {prefix}", limit, "prefix")
            )
        if limits.spike_factor:
            trip = self._spike(account, prefix, last_hour, limits, now)
            if trip is not None:
                return trip
        if limits.conversion_min_ratio:
            return self._collapsed(account, prefix, limits, now)
        return None

    def _spike(
        self, account: str, prefix: str, last_hour: int, limits: FraudLimits, now: float
    ) -> Trip | None:
        hours = self._hours
        before = hours.bucket_of(now - HOUR)  # the hour the last one began in
        span = self._baseline_hours
        total = hours.count(f"prefix-hours:{account}:{prefix}", before - span, before - 1)
        baseline = total / span
        threshold = max(limits.spike_floor, limits.spike_factor * baseline)
        if last_hour < threshold:
            return None
        reason = (
            f"spike: {last_hour} messages to prefix {prefix} within the last hour, at least"
            f" {threshold:g}: the greater of spike_floor {limits.spike_floor} and spike_factor"
            f" {limits.spike_factor:g} x a baseline of {baseline:.2f} per hour over the"
            f" {span} hours before"
        )
        return Trip("spike", prefix, reason)

    def _collapsed(self, account: str, prefix: str, limits: FraudLimits, now: float) -> Trip | None:
        sent, approved = self._conversion.figures(account, prefix, now)
        if sent < limits.conversion_min_codes or approved >= limits.conversion_min_ratio * sent:
            return None
        reason = (
            f"conversion: {approved} of {sent} OTP codes sent to prefix {prefix} approved"
            f" ({approved / sent:.0%}), below conversion_min_ratio"
            f" {limits.conversion_min_ratio:.0%} after at least {limits.conversion_min_codes}"
            " codes"
        )
        return Trip("conversion", prefix, reason)


def _velocity(sent: int, what: str, limit: int, unit: str) -> str:
    return (
        f"velocity: {sent} messages to {what} within the last hour, at most {limit}"
        f" (per_{unit}_per_hour)"
    )
