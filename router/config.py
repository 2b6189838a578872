r"""Loading a routing table configuration from TOML or from plain data.

The same format comes from a TOML file, from the admin API (JSON) and from
PostgreSQL rows turned into dicts; all go through ``load_data``. Every problem
is reported at once, each with its place, in one ``RoutingConfigError``::

    mt_routes[3].filters.destination_prefix[0]: expected `str` matching regex '^[0-9]+$'
    mt_routes[4].target.connectors[1]: unknown connector 'sfr2'

One nesting everywhere: in a TOML file the table lives under ``[routing]``
(``[routing.tariffs.retail]``, ``[[routing.mt_routes]]``), exactly as in
``smsgw.toml``, so a routing file can be pasted into the gateway's config as it
is. ``load_data`` and the admin API take the section's contents (``currency``,
``mt_routes``, ...). A file with the sections at its top level is refused with
a message saying how to nest them. The sections below are keys of ``[routing]``.

Format
------
``currency``
    ISO 4217 code of the table: the currency of every tariff that names none.
    Prices are integers in micro-units of their tariff's currency: 45_000 is
    0.045 EUR.
``[countries.<ISO 3166 code>]``
    How national numbers of a country are written: ``calling_code``,
    ``national_lengths`` (lengths of the national significant number),
    ``trunk_prefix`` (default none), ``international_prefix`` (default "00").
``[accounts.<id>]``
    Routing settings of an account: ``default_country`` turns its national
    numbers into international form; ``sell_tariff`` prices its messages ahead
    of the route's tariff, and ``plans`` ahead of both (see ``[plans]``).
``[groups.<id>]``
    ``plans`` of an account group (which accounts are in it is the engine's
    setting): they price an account's messages when the account holds no plan
    at the time, its first group first.
``[connectors.<id>]``
    Every connector a route names; ``cost_tariff`` is what it charges us, which
    ``least_cost`` needs.
``[tariffs.<id>]``
    ``rates``: ``prefix`` ("" for every destination), ``price`` per part,
    optional ``valid_from`` (inclusive) and ``valid_until`` (exclusive). The
    longest prefix with a rate valid now gives the price; one prefix's rates
    must not overlap in time. ``currency`` (default: the table's) is that of
    its prices; the connectors of one ``least_cost`` target cost in one.
``[plans.<id>]``
    A tariff plan: ``tariff``, the sell tariff its holders pay, and ``tiers``
    for the month's invoice (``after_parts`` ascending, ``discount`` in basis
    points: parts beyond ``after_parts`` cost that much less). Accounts and
    groups hold plans with dates: ``plans = [{ plan, valid_from, valid_until }]``
    (aware datetimes, either end open, one plan at a time); a plan dated ahead
    takes effect at its date by itself.
``[networks]``
    Numbering plan: destination prefix to MCC+MNC (ITU-T E.212), longest
    prefix wins; ``destination_network`` filters test it, or for a ported
    number (``router.portability``) the network it is on now.
``[[mt_routes]]``, ``[[mo_routes]]``
    Ordered routes: ``id``, ``filters``, ``unless``, ``target`` and, for MT,
    ``sell_tariff``. The first route whose filters all match, none of whose
    ``unless`` filters match, and whose target can deliver (a usable endpoint
    and, for MT, a sell price) decides. A route without filters matches all.

Filters: ``account``, ``account_group``, ``priority`` (MT only); ``connector``
(MO only); ``source``, ``destination`` and ``content`` (regular expressions,
``re.search``); ``destination_prefix``, ``destination_network``,
``data_coding``, ``tag`` (lists: any value matches); ``date`` (``start``,
``end``: aware datetimes); ``time_of_day`` (``start``, ``end``, ``timezone``,
``weekdays``; a window may wrap midnight). Destinations are tested in
international form.

Targets (``kind``): ``static`` (``connector``; MO: ``account``), ``weighted``
(``weights``: id to integer weight), ``round_robin`` and ``failover``
(``connectors``; MO: ``accounts``), ``least_cost`` (MT: ``connectors``, the
cheapest usable one that carries the destination first), ``reject``
(``command_status``, ``reason``).

Example
-------
```toml
[routing]
currency = "EUR"

[routing.countries.FR]
calling_code = "33"
trunk_prefix = "0"
national_lengths = [9]

[routing.countries.GB]
calling_code = "44"
trunk_prefix = "0"
national_lengths = [10]

[routing.accounts.bank-paris]
default_country = "FR"
sell_tariff = "banks-eu"

[routing.accounts.shop-london]
default_country = "GB"

[routing.groups.banks]
plans = [{ plan = "banks-usd", valid_from = 2026-06-01T00:00:00Z }]

[routing.connectors.orange-fr]
cost_tariff = "orange-fr-cost"

[routing.connectors.sfr]
cost_tariff = "sfr-cost"

[routing.connectors.hub]
cost_tariff = "hub-cost"

[routing.tariffs.retail]
rates = [
    { prefix = "", price = 80_000 },
    { prefix = "33", price = 45_000 },
    { prefix = "44", price = 38_000 },
]

[routing.tariffs.banks-eu]
rates = [
    { prefix = "33", price = 40_000, valid_until = 2026-01-01T00:00:00Z },
    { prefix = "33", price = 42_000, valid_from = 2026-01-01T00:00:00Z },
]

[routing.tariffs.world-usd]
currency = "USD"
rates = [{ prefix = "", price = 52_000 }]

[routing.plans.banks-usd]
tariff = "world-usd"
tiers = [{ after_parts = 100_000, discount = 500 }, { after_parts = 1_000_000, discount = 1_000 }]

[routing.tariffs.orange-fr-cost]
rates = [{ prefix = "336", price = 21_000 }, { prefix = "337", price = 21_000 }]

[routing.tariffs.sfr-cost]
rates = [{ prefix = "33", price = 23_500 }]

[routing.tariffs.hub-cost]
rates = [
    { prefix = "", price = 30_000 },
    { prefix = "33", price = 26_000 },
    { prefix = "44", price = 19_000 },
]

[routing.networks]
"3361" = "20801"
"3362" = "20810"
"447700" = "23410"

[[routing.mt_routes]]
id = "otp-fr"
sell_tariff = "retail"
filters = { priority = ["otp"], destination_prefix = ["33"] }
target = { kind = "failover", connectors = ["orange-fr", "sfr"] }

[[routing.mt_routes]]
id = "no-premium"
filters = { destination_prefix = ["33899", "449"] }
target = { kind = "reject", command_status = 0x0B, reason = "premium-rate numbers refused" }

[[routing.mt_routes]]
id = "banks-office-hours"
sell_tariff = "retail"
target = { kind = "weighted", weights = { orange-fr = 3, sfr = 1 } }

[routing.mt_routes.filters]
account_group = ["banks"]
destination_prefix = ["33"]
time_of_day = { start = 08:00:00, end = 20:00:00, timezone = "Europe/Paris" }

[routing.mt_routes.unless]
content = '(?i)\bcasino\b'

[[routing.mt_routes]]
id = "uk-promo-december"
sell_tariff = "retail"
target = { kind = "round_robin", connectors = ["hub", "sfr"] }

[routing.mt_routes.filters]
destination_network = ["23410"]
tag = ["promo"]
data_coding = [0, 3]
source = '^[A-Za-z][A-Za-z0-9]{1,10}$'
date = { start = 2025-12-01T00:00:00Z, end = 2026-01-01T00:00:00Z }

[[routing.mt_routes]]
id = "everything-else"
sell_tariff = "retail"
target = { kind = "least_cost", connectors = ["orange-fr", "sfr", "hub"] }

[[routing.mo_routes]]
id = "bank-replies"
filters = { connector = ["orange-fr", "sfr"], destination = '^33610000' }
target = { kind = "static", account = "bank-paris" }

[[routing.mo_routes]]
id = "stop-keywords"
filters = { content = '(?i)^\s*stop\b' }
target = { kind = "failover", accounts = ["opt-out", "bank-paris"] }

[[routing.mo_routes]]
id = "unknown-number"
target = { kind = "reject", command_status = 0x0B, reason = "no MO route" }
```
"""

import dataclasses
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from router import checks
from router.plans import check_group, check_plan
from router.schema import (
    AccountConfig,
    ConnectorConfig,
    CountryCode,
    CountryConfig,
    Currency,
    Digits,
    GroupConfig,
    Identifier,
    MccMnc,
    MoRouteConfig,
    MtRouteConfig,
    PlanConfig,
    RoutingConfig,
    TariffConfig,
)
from router.validation import INVALID, ConfigIssue, RoutingConfigError, convert_all, join_place

ROUTING_SECTION = "routing"
"""The table that holds the routing configuration in every TOML file."""
SECTIONS = frozenset(field.encode_name for field in msgspec.structs.fields(RoutingConfig))
"""The keys of that table."""

Item = TypeVar("Item", bound=msgspec.Struct)
ItemCheck = Callable[[Item, str], list[ConfigIssue]]


def load_toml_file(path: str | Path) -> RoutingConfig:
    """The configuration in the TOML file at ``path``."""
    return load_toml(Path(path).read_text(encoding="utf-8"))


def load_toml(text: str) -> RoutingConfig:
    """The ``[routing]`` table of TOML ``text``; raises RoutingConfigError listing
    every problem, placed as in the file (``routing.mt_routes[0].id``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RoutingConfigError([ConfigIssue("", f"invalid TOML: {error}")]) from None
    issues = [
        ConfigIssue(str(key), nesting_hint(key) if key in SECTIONS else "unknown section")
        for key in data
        if key != ROUTING_SECTION
    ]
    if not issues and ROUTING_SECTION not in data:
        issues.append(ConfigIssue(ROUTING_SECTION, "missing required table"))
    if issues:
        raise RoutingConfigError(issues)
    try:
        return load_data(data[ROUTING_SECTION])
    except RoutingConfigError as error:
        raise RoutingConfigError([_in_section(issue) for issue in error.issues]) from None


def _in_section(issue: ConfigIssue) -> ConfigIssue:
    place = f"{ROUTING_SECTION}.{issue.place}" if issue.place else ROUTING_SECTION
    return ConfigIssue(place, issue.message)


def nesting_hint(section: str) -> str:
    """What to say about a routing section written at the top level of a file."""
    return f"belongs under [routing] (one nesting in every file): move it to routing.{section}"


def load_data(data: object) -> RoutingConfig:
    """The configuration in plain data (dicts, lists, strings, numbers, datetimes)."""
    if not isinstance(data, dict):
        raise RoutingConfigError([ConfigIssue("", "expected a table at the top level")])
    issues: list[ConfigIssue] = []
    for key in data:
        if key not in SECTIONS:
            issues.append(
                ConfigIssue(str(key), f"unknown section; known: {', '.join(sorted(SECTIONS))}")
            )
    currency = data.get("currency")
    if currency is None:
        issues.append(ConfigIssue("currency", "missing required field"))
    else:
        currency = convert_all(currency, Currency, "currency", issues)
    names = _declared_names(data)

    countries = _entries(
        data, "countries", CountryCode, CountryConfig, checks.check_country, issues
    )
    accounts = _entries(
        data, "accounts", Identifier, AccountConfig, _with(checks.check_account, names), issues
    )
    connectors = _entries(
        data,
        "connectors",
        Identifier,
        ConnectorConfig,
        _with(checks.check_connector, names),
        issues,
    )
    tariffs = _entries(data, "tariffs", Identifier, TariffConfig, checks.check_tariff, issues)
    plans = _entries(
        data, "plans", Identifier, PlanConfig, _with(check_plan, names.tariffs), issues
    )
    groups = _entries(
        data, "groups", Identifier, GroupConfig, _with(check_group, names.plans), issues
    )
    networks = convert_all(data.get("networks", {}), dict[Digits, MccMnc], "networks", issues)
    names = dataclasses.replace(
        names,
        networks=frozenset(networks.values()) if networks is not INVALID else names.networks,
        connectors_without_cost=frozenset(
            name for name, connector in connectors.items() if connector.cost_tariff is None
        ),
        cost_currencies={
            name: tariffs[connector.cost_tariff].currency or currency
            for name, connector in connectors.items()
            if connector.cost_tariff in tariffs and isinstance(currency, str)
        },
    )
    parts = checks.part_checks(names)
    mt_check = _with(checks.check_mt_route, names)
    mo_check = _with(checks.check_mo_route, names)
    mt_routes = _routes(data, "mt_routes", MtRouteConfig, mt_check, parts, issues)
    mo_routes = _routes(data, "mo_routes", MoRouteConfig, mo_check, parts, issues)
    if issues:
        raise RoutingConfigError(issues)
    return RoutingConfig(
        currency=currency,
        countries=countries,
        accounts=accounts,
        connectors=connectors,
        tariffs=tariffs,
        plans=plans,
        groups=groups,
        networks=networks,
        mt_routes=mt_routes,
        mo_routes=mo_routes,
    )


def _declared_names(data: dict[Any, Any]) -> checks.DeclaredNames:
    """Names as written, so an item with errors still counts as declared."""

    def keys(section: str) -> frozenset[str]:
        value = data.get(section, {})
        return frozenset(str(key) for key in value) if isinstance(value, dict) else frozenset()

    networks = data.get("networks", {})
    return checks.DeclaredNames(
        countries=keys("countries"),
        tariffs=keys("tariffs"),
        plans=keys("plans"),
        connectors=keys("connectors"),
        networks=frozenset(str(v) for v in networks.values())
        if isinstance(networks, dict)
        else frozenset(),
        connectors_without_cost=frozenset(),
        cost_currencies={},
    )


def _with(check: Callable[..., list[ConfigIssue]], names: object) -> ItemCheck[Any]:
    """``check`` with the names it checks references against."""
    return lambda item, place: check(item, place, names)


def _entries(
    data: dict[Any, Any],
    section: str,
    key_type: Any,
    item_type: type[Item],
    check: ItemCheck[Item],
    issues: list[ConfigIssue],
) -> dict[str, Item]:
    """The section's ``name -> item`` entries that converted; checks add their issues."""
    raw = data.get(section, {})
    if not isinstance(raw, dict):
        issues.append(ConfigIssue(section, "expected a table"))
        return {}
    entries = {}
    for name, value in raw.items():
        place = join_place(section, str(name))
        key = convert_all(name, key_type, place, issues)
        item = convert_all(value, item_type, place, issues)
        if key is not INVALID and item is not INVALID:
            issues.extend(check(item, place))
            entries[key] = item
    return entries


def _routes(
    data: dict[Any, Any],
    section: str,
    item_type: type[Item],
    check: ItemCheck[Item],
    parts: dict[type, ItemCheck[Any]],
    issues: list[ConfigIssue],
) -> list[Item]:
    """The routes that converted, checked; of the others, the parts that converted are checked."""
    raw = data.get(section, [])
    if not isinstance(raw, list):
        issues.append(ConfigIssue(section, "expected an array of tables"))
        return []
    routes = []
    placed_ids = []
    for position, value in enumerate(raw):
        place = f"{section}[{position}]"
        route = convert_all(value, item_type, place, issues, parts)
        if route is not INVALID:
            issues.extend(check(route, place))
            routes.append(route)
            placed_ids.append((place, route.id))
    issues.extend(checks.check_route_ids(placed_ids, section))
    return routes
