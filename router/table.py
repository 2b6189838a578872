"""The routing table: MT and MO decisions from message facts.

A table is built once from a checked ``RoutingConfig`` and never changes after
(round-robin counters aside). Hot reload is the engine building a new table and
assigning it to the one reference it reads; a decision in flight keeps the table
it started with, and no decision ever waits on a lock.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from router.decisions import NO_ROUTE, MoDecision, MoRouted, MtDecision, MtRouted, Rejected
from router.destinations import destination_map
from router.facts import MessageFacts
from router.filters import PrefixFilter, PreparedMessage
from router.index import RouteIndex
from router.numbers import CountryRule, without_plus
from router.routes import Route, compile_mo_route, compile_mt_route
from router.schema import RoutingConfig, TariffConfig
from router.targets import LeastCostTarget, Target, Usable
from router.tariffs import OPEN_START, Rate, Schedule, Tariff, price_on


@dataclass(frozen=True, slots=True)
class AccountRouting:
    """What the table knows of an account: how its numbers are written, its own tariff.

    ``international`` is its country's ``to_international`` (or ``without_plus``),
    bound once so a decision does not branch on the country. ``sell_tariff`` is
    the id of its own tariff.
    """

    international: Callable[[str], str]
    sell_tariff: str | None


_NO_ACCOUNT = AccountRouting(without_plus, None)
"""An account the table does not know: numbers are already international, no own tariff."""

ANY_TIME = 0.0
"""The time a decision reads prices at when none of the destination's changes over time."""


class RoutingTable:
    """Ordered MT and MO routes with their tariffs, numbering plan and indexes.

    ``sizes`` counts what the table holds, for logs and the benchmark.
    """

    def __init__(self, config: RoutingConfig, source: random.Random | None = None) -> None:
        """Compile ``config`` as returned by the ``router.config`` loaders, which checked it.

        ``source`` drives weighted targets; pass a seeded one in tests.
        """
        source = source if source is not None else random.Random()
        self.currency = config.currency
        tariffs = {name: _compile_tariff(name, tariff) for name, tariff in config.tariffs.items()}
        countries = {
            code: CountryRule(
                calling_code=country.calling_code,
                trunk_prefix=country.trunk_prefix,
                international_prefix=country.international_prefix,
                national_lengths=frozenset(country.national_lengths),
            )
            for code, country in config.countries.items()
        }
        self._accounts = {
            name: AccountRouting(
                international=countries[account.default_country].to_international
                if account.default_country
                else without_plus,
                sell_tariff=account.sell_tariff,
            )
            for name, account in config.accounts.items()
        }
        cost_tariffs = {
            name: tariffs[connector.cost_tariff]
            for name, connector in config.connectors.items()
            if connector.cost_tariff
        }
        self.mt_routes = tuple(compile_mt_route(route, source) for route in config.mt_routes)
        self.mo_routes = tuple(compile_mo_route(route, source) for route in config.mo_routes)
        sell_tariffs = {route.sell_tariff for route in self.mt_routes if route.sell_tariff}
        sell_tariffs.update(
            account.sell_tariff for account in self._accounts.values() if account.sell_tariff
        )
        self._mt_index = RouteIndex(self.mt_routes)
        self._mo_index = RouteIndex(self.mo_routes)
        self._destinations = destination_map(
            config.networks,
            self._mt_index.destination_routes,
            self._mo_index.destination_routes,
            {name: tariff.schedules() for name, tariff in cost_tariffs.items()},
            {name: tariffs[name].schedules() for name in sell_tariffs},
        )
        self.sizes: dict[str, int] = {
            "mt_routes": len(self.mt_routes),
            "mo_routes": len(self.mo_routes),
            "route_prefixes": _route_prefix_count(self.mt_routes + self.mo_routes),
            "tariffs": len(tariffs),
            "tariff_prefixes": sum(len(tariff) for tariff in tariffs.values()),
            "networks": len(config.networks),
            "destination_prefixes": len(self._destinations),
        }
        no_prefix = self._destinations.longest("")
        assert no_prefix is not None, "destination_map always holds the empty prefix"
        self._no_prefix = no_prefix

    def decide_mt(self, facts: MessageFacts, usable: Usable = None) -> MtDecision:
        """Where an MT message goes and at what price, or why it does not go.

        This is ``apply_mt`` on each of the index's candidates in turn, spelled
        out: a call per route was 6.5% of a decision's instructions on the router
        benchmark, and the call to ``RouteIndex.candidates`` as much again (its
        memos are read here, with ``fact_key`` in line). What ``prepare`` derives
        is kept in locals, and a ``PreparedMessage`` is built only for a route
        that tests filters itself (regular expressions, times); the account's
        price, the same for every route, is read once. A price that never
        changes is read without a call. The property tests hold ``decide_mt``
        and ``apply_mt`` to one answer.
        """
        account = self._accounts.get(facts.account, _NO_ACCOUNT)
        destination = account.international(facts.destination)
        info = self._destinations.longest(destination) or self._no_prefix
        now = ANY_TIME if info.fixed_prices else facts.now.timestamp()
        prices = info.prices
        account_price = None
        if account.sell_tariff is not None:
            schedule = prices.get(account.sell_tariff)
            if schedule is not None:
                account_price = schedule if isinstance(schedule, int) else price_on(schedule, now)
        index = self._mt_index
        key = (
            facts.account,
            facts.groups,
            facts.connector,
            facts.data_coding,
            facts.priority,
            facts.tags,
        )
        message = None
        for route in index.ordered[index.by_facts[key] & info.mt_routes]:
            if route.tests_itself:
                if message is None:
                    message = PreparedMessage(facts, destination, info, account.sell_tariff)
                if not route.passes_unindexed(message):
                    continue
            if route.rejection is not None:
                return route.rejection
            price = account_price
            if price is None and route.sell_tariff is not None:
                schedule = prices.get(route.sell_tariff)
                if schedule is not None:
                    price = schedule if isinstance(schedule, int) else price_on(schedule, now)
            if price is None:
                continue
            if route.by_cost:
                connectors, cost = route.target.choose_priced(usable, info, now)
            else:
                connectors = route.target.choose(usable)
                cost = None
                schedule = info.costs.get(connectors[0]) if connectors else None
                if schedule is not None:
                    cost = schedule if isinstance(schedule, int) else price_on(schedule, now)
            if not connectors:
                continue
            return MtRouted(
                route_id=route.route_id,
                connectors=connectors,
                destination=destination,
                network=info.network,
                sell_per_part=price,
                cost_per_part=cost,
                currency=self.currency,
            )
        return NO_ROUTE

    def decide_mo(self, facts: MessageFacts, usable: Usable = None) -> MoDecision:
        """Which account an MO message goes to, or why it does not go."""
        message = self.prepare(facts)
        info = message.info
        for route in self._mo_index.candidates(facts, info.mo_routes):
            if route.tests_itself and not route.passes_unindexed(message):
                continue
            outcome = self.apply_mo(route, message, usable)
            if not isinstance(outcome, str):
                return outcome
        return NO_ROUTE

    def cost_per_part(self, connector: str, destination: str, now: datetime) -> int | None:
        """What ``connector`` charges for international ``destination`` at ``now``, if known.

        The engine asks this when it fails over to a connector other than the first.
        """
        info = self._destinations.longest(destination) or self._no_prefix
        return _price_of(info.costs, connector, now.timestamp())

    def prepare(self, facts: MessageFacts) -> PreparedMessage:
        """The facts with the destination in international form and its network."""
        account = self._accounts.get(facts.account, _NO_ACCOUNT)
        destination = account.international(facts.destination)
        info = self._destinations.longest(destination) or self._no_prefix
        return PreparedMessage(facts, destination, info, account.sell_tariff)

    def apply_mt(self, route: Route, message: PreparedMessage, usable: Usable) -> MtDecision | str:
        """The decision of a route whose filters matched, or why it cannot deliver.

        The account's tariff prices first, then the route's; prices and costs
        are read at the message's time.
        """
        if route.rejection is not None:
            return route.rejection
        info = message.info
        now = ANY_TIME if info.fixed_prices else message.facts.now.timestamp()
        price = _price_of(info.prices, message.account_tariff, now)
        if price is None:
            price = _price_of(info.prices, route.sell_tariff, now)
        if price is None:
            return f"no sell price for {message.destination!r}"
        target = route.target
        if route.by_cost:
            connectors, cost = target.choose_priced(usable, info, now)
        else:
            connectors = target.choose(usable)
            cost = _price_of(info.costs, connectors[0], now) if connectors else None
        if not connectors:
            return _unusable(target, message.destination)
        return MtRouted(
            route_id=route.route_id,
            connectors=connectors,
            destination=message.destination,
            network=info.network,
            sell_per_part=price,
            cost_per_part=cost,
            currency=self.currency,
        )

    def apply_mo(self, route: Route, message: PreparedMessage, usable: Usable) -> MoDecision | str:
        """The decision of an MO route whose filters matched, or why it cannot deliver."""
        target = route.target
        if isinstance(target, Rejected):
            return target
        assert not isinstance(target, LeastCostTarget), "MO routes have no least_cost target"
        accounts = target.choose(usable)
        if not accounts:
            return f"none of its accounts is usable: {', '.join(target.endpoints)}"
        return MoRouted(route_id=route.route_id, accounts=accounts)


def _price_of(schedules: dict[str, Schedule], name: str | None, now: float) -> int | None:
    """What the schedule of ``name`` (a tariff or a connector) gives at ``now``, if it has one."""
    schedule = schedules.get(name) if name is not None else None
    return price_on(schedule, now) if schedule is not None else None


def _unusable(target: Target, destination: str) -> str:
    """Why a target whose route matched yields no connector."""
    if isinstance(target, LeastCostTarget):
        return f"no usable connector among {', '.join(target.endpoints)} carries {destination!r}"
    return f"none of its connectors is usable: {', '.join(target.endpoints)}"


def _compile_tariff(name: str, config: TariffConfig) -> Tariff:
    rates = [
        Rate(
            prefix=rate.prefix,
            price=rate.price,
            valid_from=rate.valid_from.timestamp() if rate.valid_from else OPEN_START,
            valid_until=rate.valid_until.timestamp() if rate.valid_until else math.inf,
        )
        for rate in config.rates
    ]
    return Tariff(name, rates)


def _route_prefix_count(routes: tuple[Route, ...]) -> int:
    prefixes: set[str] = set()
    for route in routes:
        for item in route.filters + route.unless:
            if isinstance(item, PrefixFilter):
                prefixes.update(item.prefixes)
    return len(prefixes)
