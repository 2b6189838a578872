"""Rules a routing configuration must follow beyond the types of its fields.

Each check gets one converted item and its place and returns the issues it
found, so the loader can run them on every item that converted and report all
problems in one go. References are checked against the names the operator
declared, even where the declared item itself had errors, so one typo does not
cascade into "unknown" errors elsewhere.
"""

import re
import typing
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from router import plans
from router.schema import (
    AccountConfig,
    CommonFilters,
    ConnectorConfig,
    CountryConfig,
    LeastCostTarget,
    MoFailoverTarget,
    MoFilters,
    MoRoundRobinTarget,
    MoRouteConfig,
    MoTarget,
    MtFilters,
    MtRouteConfig,
    MtTarget,
    RejectTarget,
    StaticTarget,
    TariffConfig,
    WeightedTarget,
)
from router.validation import Check, ConfigIssue, join_place

E164_MAX_DIGITS = 15
"""ITU-T E.164 §6.1: an international number has at most 15 digits."""


@dataclass(frozen=True, slots=True)
class DeclaredNames:
    """The names declared in each section, as the operator wrote them.

    ``cost_currencies`` holds per connector with a cost tariff that tariff's currency.
    """

    countries: frozenset[str]
    tariffs: frozenset[str]
    plans: frozenset[str]
    connectors: frozenset[str]
    networks: frozenset[str]
    connectors_without_cost: frozenset[str]
    cost_currencies: Mapping[str, str]


def check_country(country: CountryConfig, place: str) -> list[ConfigIssue]:
    issues = []
    if len(country.calling_code) + max(country.national_lengths) > E164_MAX_DIGITS:
        issues.append(
            ConfigIssue(f"{place}.national_lengths", "calling code + length exceeds 15 digits")
        )
    idd, trunk = country.international_prefix, country.trunk_prefix
    if idd and trunk and trunk.startswith(idd):
        issues.append(
            ConfigIssue(f"{place}.trunk_prefix", "must not start with the international_prefix")
        )
    return issues


def check_account(account: AccountConfig, place: str, names: DeclaredNames) -> list[ConfigIssue]:
    issues = []
    if account.default_country is not None and account.default_country not in names.countries:
        issues.append(_unknown(f"{place}.default_country", "country", account.default_country))
    if account.sell_tariff is not None and account.sell_tariff not in names.tariffs:
        issues.append(_unknown(f"{place}.sell_tariff", "tariff", account.sell_tariff))
    issues.extend(plans.check_assignments(account.plans, f"{place}.plans", names.plans))
    return issues


def check_connector(
    connector: ConnectorConfig, place: str, names: DeclaredNames
) -> list[ConfigIssue]:
    if connector.cost_tariff is not None and connector.cost_tariff not in names.tariffs:
        return [_unknown(f"{place}.cost_tariff", "tariff", connector.cost_tariff)]
    return []


def check_tariff(tariff: TariffConfig, place: str) -> list[ConfigIssue]:
    """Windows must be ordered, and rates of one prefix must not overlap in time."""
    issues = []
    seen: dict[str, list[tuple[int, float, float]]] = {}
    for position, rate in enumerate(tariff.rates):
        rate_place = f"{place}.rates[{position}]"
        start, end = plans.window(rate.valid_from, rate.valid_until)
        if start >= end:
            issues.append(ConfigIssue(f"{rate_place}.valid_until", "must be after valid_from"))
            continue
        for other, other_start, other_end in seen.get(rate.prefix, []):
            if start < other_end and other_start < end:
                issues.append(
                    ConfigIssue(
                        rate_place,
                        f"overlaps rates[{other}] for prefix {rate.prefix!r} in time",
                    )
                )
        seen.setdefault(rate.prefix, []).append((position, start, end))
    return issues


def check_mt_route(route: MtRouteConfig, place: str, names: DeclaredNames) -> list[ConfigIssue]:
    issues = _check_filter_sets(route.filters, route.unless, place, names)
    if route.sell_tariff is not None and route.sell_tariff not in names.tariffs:
        issues.append(_unknown(f"{place}.sell_tariff", "tariff", route.sell_tariff))
    if isinstance(route.target, RejectTarget) and route.sell_tariff is not None:
        issues.append(ConfigIssue(f"{place}.sell_tariff", "a reject route sells nothing"))
    issues.extend(check_mt_target(route.target, f"{place}.target", names))
    return issues


def check_mo_route(route: MoRouteConfig, place: str, names: DeclaredNames) -> list[ConfigIssue]:
    issues = _check_filter_sets(route.filters, route.unless, place, names)
    issues.extend(check_mo_target(route.target, f"{place}.target", names))
    return issues


def check_mt_target(target: MtTarget, place: str, names: DeclaredNames) -> list[ConfigIssue]:
    """Connectors must be declared, listed once, and priced when chosen by cost."""
    issues = []
    if isinstance(target, RejectTarget):
        return issues
    if isinstance(target, StaticTarget):
        connectors = {f"{place}.connector": target.connector}
    elif isinstance(target, WeightedTarget):
        connectors = {join_place(f"{place}.weights", c): c for c in target.weights}
    else:
        connectors = _positions(f"{place}.connectors", target.connectors)
        issues.extend(_duplicates(f"{place}.connectors", target.connectors))
    for connector_place, connector in connectors.items():
        if connector not in names.connectors:
            issues.append(_unknown(connector_place, "connector", connector))
        elif isinstance(target, LeastCostTarget):
            issues.extend(_check_least_cost(connector_place, connector, target, names))
    return issues


def _check_least_cost(
    place: str, connector: str, target: LeastCostTarget, names: DeclaredNames
) -> list[ConfigIssue]:
    """Least cost compares costs as numbers, so they must all be in one currency."""
    if connector in names.connectors_without_cost:
        return [ConfigIssue(place, "least_cost needs a cost_tariff on it")]
    currency = names.cost_currencies.get(connector)
    first = next((c for c in target.connectors if c in names.cost_currencies), connector)
    if currency is not None and currency != names.cost_currencies[first]:
        return [
            ConfigIssue(
                place,
                f"least_cost compares costs in one currency: {connector!r} costs in "
                f"{currency}, {first!r} in {names.cost_currencies[first]}",
            )
        ]
    return []


def check_mo_target(target: MoTarget, place: str, names: DeclaredNames) -> list[ConfigIssue]:
    """Accounts belong to the engine, so only repeats can be caught here."""
    if isinstance(target, MoRoundRobinTarget | MoFailoverTarget):
        return _duplicates(f"{place}.accounts", target.accounts)
    return []


def part_checks(names: DeclaredNames) -> dict[type, Check]:
    """Checks for the parts of a route, run on their own when the route has errors elsewhere."""

    def filters(item: CommonFilters, place: str) -> list[ConfigIssue]:
        return check_filters(item, place, names)

    def mt_target(item: MtTarget, place: str) -> list[ConfigIssue]:
        return check_mt_target(item, place, names)

    def mo_target(item: MoTarget, place: str) -> list[ConfigIssue]:
        return check_mo_target(item, place, names)

    found: dict[type, Check] = {MtFilters: filters, MoFilters: filters}
    found.update(dict.fromkeys(typing.get_args(MtTarget), mt_target))
    found.update(dict.fromkeys((MoRoundRobinTarget, MoFailoverTarget), mo_target))
    return found


def check_route_ids(ids: Iterable[tuple[str, str]], section: str) -> list[ConfigIssue]:
    """Route ids appear in logs and in explain: each must name one route."""
    first_place: dict[str, str] = {}
    issues = []
    for place, route_id in ids:
        if route_id in first_place:
            issues.append(ConfigIssue(f"{place}.id", f"duplicate of {first_place[route_id]}.id"))
        else:
            first_place[route_id] = place
    return issues


def _check_filter_sets(
    filters: CommonFilters, unless: CommonFilters | None, place: str, names: DeclaredNames
) -> list[ConfigIssue]:
    issues = check_filters(filters, f"{place}.filters", names)
    if unless is not None:
        issues.extend(check_filters(unless, f"{place}.unless", names))
    return issues


def check_filters(filters: CommonFilters, place: str, names: DeclaredNames) -> list[ConfigIssue]:
    """Patterns must compile, windows be ordered, networks be in the numbering plan."""
    issues = []
    for field in ("source", "destination", "content"):
        pattern = getattr(filters, field)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                issues.append(
                    ConfigIssue(f"{place}.{field}", f"invalid regular expression: {error}")
                )
    for position, network in enumerate(filters.destination_network or ()):
        if network not in names.networks:
            issues.append(
                ConfigIssue(
                    f"{place}.destination_network[{position}]",
                    f"no prefix maps to network {network!r} in [networks]",
                )
            )
    date = filters.date
    if date is not None and date.start and date.end and date.start >= date.end:
        issues.append(ConfigIssue(f"{place}.date.end", "must be after start"))
    window = filters.time_of_day
    if window is not None:
        if window.start == window.end:
            issues.append(ConfigIssue(f"{place}.time_of_day.end", "must differ from start"))
        try:
            zoneinfo.ZoneInfo(window.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            issues.append(
                ConfigIssue(
                    f"{place}.time_of_day.timezone", f"unknown time zone {window.timezone!r}"
                )
            )
    return issues


def _positions(place: str, names: Iterable[str]) -> dict[str, str]:
    return {f"{place}[{position}]": name for position, name in enumerate(names)}


def _duplicates(place: str, names: list[str]) -> list[ConfigIssue]:
    seen: set[str] = set()
    issues = []
    for position, name in enumerate(names):
        if name in seen:
            issues.append(ConfigIssue(f"{place}[{position}]", f"{name!r} is listed twice"))
        seen.add(name)
    return issues


def _unknown(place: str, what: str, name: str) -> ConfigIssue:
    return ConfigIssue(place, f"unknown {what} {name!r}")
