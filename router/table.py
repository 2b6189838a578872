"""The routing table: MT and MO decisions from message facts.

A table is built once from a checked ``RoutingConfig`` and never changes after
(round-robin counters aside). Hot reload is the engine building a new table and
assigning it to the one reference it reads; a decision in flight keeps the table
it started with, and no decision ever waits on a lock. Ported numbers
(``router.portability``) are swapped in the same way (``with_ported``).
"""

import copy
import random
from bisect import bisect_right
from datetime import datetime
from typing import Self

from router.calling_codes import COUNTRY_PREFIXES
from router.decisions import NO_ROUTE, MoDecision, MoRouted, MtDecision, MtRouted, Rejected
from router.destinations import DestinationInfo, destination_map, on_network
from router.facts import MessageFacts
from router.filters import PreparedMessage
from router.index import Memo, RouteIndex
from router.numbers import CountryRule, without_plus
from router.plans import NO_PRICING, AccountBook, AccountRouting, PlanView
from router.portability import PortedNumbers
from router.routes import Route, compile_mo_route, compile_mt_route, prefix_count
from router.schema import RoutingConfig
from router.targets import LeastCostTarget, Target, Usable
from router.tariffs import Schedule, compile_tariff, price_on

_NO_ACCOUNT = AccountRouting(without_plus, NO_PRICING, (), (NO_PRICING,))
"""An account the table does not know: numbers are already international, nothing of its own
prices it."""

ANY_TIME = 0.0
"""The time a decision reads prices at when none of the destination's changes over time."""


class RoutingTable:
    """Ordered MT and MO routes with their tariffs, plans, numbering plan and indexes.

    ``sizes`` counts what the table holds, for logs and the benchmark.
    """

    def __init__(
        self,
        config: RoutingConfig,
        source: random.Random | None = None,
        ported: PortedNumbers | None = None,
    ) -> None:
        """Compile ``config`` as returned by the ``router.config`` loaders, which checked it.

        ``source`` drives weighted targets; pass a seeded one in tests.
        ``ported`` lists the numbers on another network than their prefix's.
        """
        source = source if source is not None else random.Random()
        self.currency = config.currency
        tariffs = {name: compile_tariff(name, tariff) for name, tariff in config.tariffs.items()}
        self._currencies = {
            name: tariff.currency or config.currency for name, tariff in config.tariffs.items()
        }
        countries = {
            code: CountryRule(
                calling_code=country.calling_code,
                trunk_prefix=country.trunk_prefix,
                international_prefix=country.international_prefix,
                national_lengths=frozenset(country.national_lengths),
            )
            for code, country in config.countries.items()
        }
        international = {
            name: countries[account.default_country].to_international
            for name, account in config.accounts.items()
            if account.default_country
        }
        self._book = AccountBook(config, self._currencies, international)
        self._accounts = {name: self._book.routing(name) for name in config.accounts}
        self._grouped: Memo[tuple[str, tuple[str, ...]], AccountRouting] | None = None
        if self._book.by_group:
            self._grouped = Memo(lambda key: self._book.routing(*key))
        cost_tariffs = {
            name: connector.cost_tariff
            for name, connector in config.connectors.items()
            if connector.cost_tariff
        }
        self._cost_currencies = {name: self._currencies[t] for name, t in cost_tariffs.items()}
        self.mt_routes = tuple(compile_mt_route(route, source) for route in config.mt_routes)
        self.mo_routes = tuple(compile_mo_route(route, source) for route in config.mo_routes)
        sell_tariffs = {route.sell_tariff for route in self.mt_routes if route.sell_tariff}
        sell_tariffs |= self._book.sell_tariffs
        self._mt_index = RouteIndex(self.mt_routes)
        self._mo_index = RouteIndex(self.mo_routes)
        self._destinations = destination_map(
            config.networks,
            COUNTRY_PREFIXES,
            self._mt_index.destination_routes,
            self._mo_index.destination_routes,
            {name: tariffs[tariff].schedules() for name, tariff in cost_tariffs.items()},
            {name: tariffs[name].schedules() for name in sell_tariffs},
        )
        self.sizes: dict[str, int] = {
            "mt_routes": len(self.mt_routes),
            "mo_routes": len(self.mo_routes),
            "route_prefixes": prefix_count(self.mt_routes + self.mo_routes),
            "tariffs": len(tariffs),
            "tariff_prefixes": sum(len(tariff) for tariff in tariffs.values()),
            "plans": len(config.plans),
            "networks": len(config.networks),
            "destination_prefixes": len(self._destinations),
        }
        no_prefix = self._destinations.longest("")
        assert no_prefix is not None, "destination_map always holds the empty prefix"
        self._no_prefix = no_prefix
        self.ported = ported
        """The numbers MT decisions route by the network they are on now, or None."""
        mt_destinations = self._mt_index.destination_routes
        self._ported_infos: Memo[tuple[DestinationInfo, str], DestinationInfo] = Memo(
            lambda key: on_network(*key, mt_destinations)
        )

    def decide_mt(self, facts: MessageFacts, usable: Usable = None) -> MtDecision:
        """Where an MT message goes and at what price, or why it does not go.

        This is ``apply_mt`` on each of the index's candidates in turn, spelled
        out: a call per route was 6.5% of a decision's instructions on the router
        benchmark, and the call to ``RouteIndex.candidates`` as much again (its
        memos are read here, with ``fact_key`` in line). What ``prepare`` derives
        is kept in locals, and a ``PreparedMessage`` is built only for a route
        that tests filters itself (regular expressions, times); the account's
        price, the same for every route, is read once. A price that never
        changes is read without a call, and so is an account's pricing (plans)
        that never changes. The property tests hold ``decide_mt`` and
        ``apply_mt`` to one answer.
        """
        if self._grouped is None:
            account = self._accounts.get(facts.account, _NO_ACCOUNT)
        else:
            account = self._grouped[facts.account, facts.groups]
        destination = account.international(facts.destination)
        info = self._destinations.longest(destination) or self._no_prefix
        ported = self.ported
        if ported is not None:
            network = ported.network_of(destination)
            if network is not None:
                info = self._ported_infos[info, network]
        pricing = account.pricing
        if pricing is None:
            now = facts.now.timestamp()
            pricing = account.pricings[bisect_right(account.changes, now)]
        else:
            now = ANY_TIME if info.fixed_prices else facts.now.timestamp()
        prices = info.prices
        currency, plan_id = pricing.currency, pricing.plan_id
        account_price = None
        if pricing.tariff is not None:
            schedule = prices.get(pricing.tariff)
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
                    message = PreparedMessage(facts, destination, info, pricing)
                if not route.passes_unindexed(message):
                    continue
            if route.rejection is not None:
                return route.rejection
            price = account_price
            if price is None and route.sell_tariff is not None:
                schedule = prices.get(route.sell_tariff)
                if schedule is not None:
                    price = schedule if isinstance(schedule, int) else price_on(schedule, now)
                    currency, plan_id = self._currencies[route.sell_tariff], ""
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
                currency=currency,
                plan_id=plan_id,
                country=info.country,
                cost_currency=self._cost_currencies[connectors[0]]
                if cost is not None
                else self.currency,
            )
        return NO_ROUTE

    def with_ported(self, ported: PortedNumbers | None) -> Self:
        """This table routing by ``ported``, sharing all else (round-robin turns too) with it."""
        table = copy.copy(self)
        table.ported = ported
        return table

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

        The engine asks this when it fails over to a connector other than the
        first; the amount is in ``cost_currency(connector)``.
        """
        info = self._destinations.longest(destination) or self._no_prefix
        return _price_of(info.costs, connector, now.timestamp())

    def cost_currency(self, connector: str) -> str:
        """The currency of what ``connector`` charges: its cost tariff's, else the table's."""
        return self._cost_currencies.get(connector, self.currency)

    def plan_of(self, account: str, at: float, groups: tuple[str, ...] = ()) -> PlanView | None:
        """The plan pricing ``account`` (in ``groups``, as the engine lists them) at POSIX ``at``.

        The invoice reads its tiers; None when neither the account nor its groups hold one.
        """
        return self._routing_of(account, groups).pricing_at(at).plan

    def prepare(self, facts: MessageFacts, mt: bool = False) -> PreparedMessage:
        """The facts with the destination in international form, its network and the pricing.

        ``mt``: a ported destination's network is the one it is on now, as in ``decide_mt``.
        """
        account = self._routing_of(facts.account, facts.groups)
        destination = account.international(facts.destination)
        info = self._destinations.longest(destination) or self._no_prefix
        network = self.ported.network_of(destination) if mt and self.ported else None
        if network is not None:
            info = self._ported_infos[info, network]
        pricing = account.pricing
        if pricing is None:
            pricing = account.pricing_at(facts.now.timestamp())
        return PreparedMessage(facts, destination, info, pricing)

    def apply_mt(self, route: Route, message: PreparedMessage, usable: Usable) -> MtDecision | str:
        """The decision of a route whose filters matched, or why it cannot deliver.

        The account's pricing (a plan, its own tariff) prices first, then the
        route's tariff; prices and costs are read at the message's time.
        """
        if route.rejection is not None:
            return route.rejection
        info = message.info
        pricing = message.pricing
        now = message.facts.now.timestamp()
        price = _price_of(info.prices, pricing.tariff, now)
        currency, plan_id = pricing.currency, pricing.plan_id
        if price is None and route.sell_tariff is not None:
            price = _price_of(info.prices, route.sell_tariff, now)
            currency, plan_id = self._currencies[route.sell_tariff], ""
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
            currency=currency,
            plan_id=plan_id,
            cost_currency=self.currency if cost is None else self._cost_currencies[connectors[0]],
            country=info.country,
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

    def _routing_of(self, account: str, groups: tuple[str, ...]) -> AccountRouting:
        if self._grouped is None:
            return self._accounts.get(account, _NO_ACCOUNT)
        return self._grouped[account, groups]


def _price_of(schedules: dict[str, Schedule], name: str | None, now: float) -> int | None:
    """What the schedule of ``name`` (a tariff or a connector) gives at ``now``, if it has one."""
    schedule = schedules.get(name) if name is not None else None
    return price_on(schedule, now) if schedule is not None else None


def _unusable(target: Target, destination: str) -> str:
    """Why a target whose route matched yields no connector."""
    if isinstance(target, LeastCostTarget):
        return f"no usable connector among {', '.join(target.endpoints)} carries {destination!r}"
    return f"none of its connectors is usable: {', '.join(target.endpoints)}"
