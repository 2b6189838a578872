"""Tariff plans: the rules of holding them, and what prices an account's messages over time.

An account's messages are priced by the plan it holds at the message's time,
else by a plan one of its groups holds then (its first group first, in the
order the engine lists them), else by its own ``sell_tariff``; the route's
tariff prices them when that gives no price for the destination. Plans are
held with dates, so a plan scheduled for a date takes effect at that date with
no reload, as a dated rate does (``router.tariffs``).

Each account, with its groups, is compiled once into the instants its choice
changes and the choice from each of them on: a decision reads it with one
``bisect``, and with nothing at all when it never changes, instead of walking
the account's and its groups' plans.
"""

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from router.numbers import without_plus
from router.schema import GroupConfig, PlanAssignment, PlanConfig, RoutingConfig
from router.validation import ConfigIssue


class Tier(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Parts of a month beyond ``after_parts`` cost ``discount`` basis points less."""

    after_parts: int
    discount: int


class PlanView(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A plan as the invoice reads it: its sell tariff, that tariff's currency, its tiers.

    Tiers are ascending by ``after_parts``; they are settled on the month's
    invoice, not at accept, so a decision only names the plan.
    """

    plan_id: str
    tariff: str
    currency: str
    tiers: tuple[Tier, ...]


@dataclass(frozen=True, slots=True)
class Pricing:
    """What prices an account's messages for a while, ahead of the route's tariff.

    ``tariff`` is None when nothing does; ``currency`` is its currency.
    ``plan_id`` is ``plan.plan_id``, or ``""`` when the tariff is the account's
    own; ``source`` says whose it is, for ``explain``.
    """

    tariff: str | None
    currency: str
    plan: PlanView | None
    plan_id: str
    source: str


NO_PRICING = Pricing(None, "", None, "", "")
"""An account with no plan and no tariff of its own: the route's tariff prices."""


@dataclass(frozen=True, slots=True)
class AccountRouting:
    """What the table knows of an account: how its numbers are written, what prices them.

    ``international`` is its country's ``to_international`` (or ``without_plus``),
    bound once so a decision does not branch on the country. ``pricing`` is
    its pricing when that never changes, else None: then ``pricings[i]``
    holds from ``changes[i - 1]`` (inclusive) until ``changes[i]``.
    """

    international: Callable[[str], str]
    pricing: Pricing | None
    changes: tuple[float, ...]
    pricings: tuple[Pricing, ...]

    def pricing_at(self, now: float) -> Pricing:
        """The pricing at POSIX time ``now``."""
        if self.pricing is not None:
            return self.pricing
        return self.pricings[bisect_right(self.changes, now)]


Held = tuple[float, float, Pricing]
"""(start timestamp, end timestamp, pricing) of one plan assignment; -inf/+inf when open."""


class AccountBook:
    """What the table knows of accounts and groups, compiled from a checked config.

    ``currencies`` maps each tariff id to its currency; ``international``
    each account the table knows to how its numbers are written. ``by_group``
    says some group holds a plan, so an account's pricing depends on its groups
    too. ``sell_tariffs`` are the tariffs accounts and plans sell by.
    """

    __slots__ = (
        "_groups",
        "_held_by",
        "_international",
        "_own",
        "by_group",
        "sell_tariffs",
        "views",
    )

    def __init__(
        self,
        config: RoutingConfig,
        currencies: Mapping[str, str],
        international: Mapping[str, Callable[[str], str]],
    ) -> None:
        self._international = international
        self.views = {
            name: PlanView(
                plan_id=name,
                tariff=plan.tariff,
                currency=currencies[plan.tariff],
                tiers=tuple(
                    Tier(after_parts=tier.after_parts, discount=tier.discount)
                    for tier in plan.tiers
                ),
            )
            for name, plan in config.plans.items()
        }
        self._own = {
            name: Pricing(tariff, currencies[tariff], None, "", f"account {name!r}")
            for name, account in config.accounts.items()
            if (tariff := account.sell_tariff) is not None
        }
        self._held_by = {
            name: self._held(account.plans, f"account {name!r}")
            for name, account in config.accounts.items()
        }
        self._groups = {
            name: self._held(group.plans, f"group {name!r}")
            for name, group in config.groups.items()
            if group.plans
        }
        self.by_group = bool(self._groups)
        self.sell_tariffs = {view.tariff for view in self.views.values()}
        self.sell_tariffs.update(
            account.sell_tariff for account in config.accounts.values() if account.sell_tariff
        )

    def routing(self, account: str, groups: tuple[str, ...] = ()) -> AccountRouting:
        """The routing of ``account`` in ``groups``: its plans first, then its groups' in order."""
        chain = list(self._held_by.get(account, ()))
        for group in groups:
            chain.extend(self._groups.get(group, ()))
        own = self._own.get(account, NO_PRICING)
        edges = sorted({edge for start, end, _ in chain for edge in (start, end)} - _OPEN)
        changes: list[float] = []
        pricings = [choice_at(chain, own, -math.inf)]
        for edge in edges:
            pricing = choice_at(chain, own, edge)
            if pricing != pricings[-1]:
                changes.append(edge)
                pricings.append(pricing)
        international = self._international.get(account, without_plus)
        fixed = pricings[0] if not changes else None
        return AccountRouting(international, fixed, tuple(changes), tuple(pricings))

    def _held(self, assignments: Sequence[PlanAssignment], holder: str) -> tuple[Held, ...]:
        held = []
        for assignment in assignments:
            view = self.views[assignment.plan]
            pricing = Pricing(
                view.tariff, view.currency, view, view.plan_id, f"plan {view.plan_id!r} of {holder}"
            )
            held.append((*window(assignment.valid_from, assignment.valid_until), pricing))
        return tuple(held)


_OPEN = {-math.inf, math.inf}


def choice_at(chain: Sequence[Held], own: Pricing, now: float) -> Pricing:
    """The first plan of ``chain`` held at ``now``, else ``own``: the slow reading compiled away."""
    for start, end, pricing in chain:
        if start <= now < end:
            return pricing
    return own


def window(start: datetime | None, end: datetime | None) -> tuple[float, float]:
    """POSIX timestamps of a validity window, infinite where it is open."""
    return (start.timestamp() if start else -math.inf, end.timestamp() if end else math.inf)


def check_plan(plan: PlanConfig, place: str, tariffs: frozenset[str]) -> list[ConfigIssue]:
    """A plan sells by a declared tariff; each tier starts further into the month."""
    issues = []
    if plan.tariff not in tariffs:
        issues.append(ConfigIssue(f"{place}.tariff", f"unknown tariff {plan.tariff!r}"))
    for position in range(1, len(plan.tiers)):
        before = plan.tiers[position - 1].after_parts
        if plan.tiers[position].after_parts <= before:
            issues.append(
                ConfigIssue(
                    f"{place}.tiers[{position}].after_parts",
                    f"must be above tiers[{position - 1}].after_parts ({before})",
                )
            )
    return issues


def check_group(group: GroupConfig, place: str, plans: frozenset[str]) -> list[ConfigIssue]:
    return check_assignments(group.plans, f"{place}.plans", plans)


def check_assignments(
    assignments: Sequence[PlanAssignment], place: str, plans: frozenset[str]
) -> list[ConfigIssue]:
    """Plans must be declared, and an account or group holds one plan at a time.

    An overlap is reported at the field of the later-listed assignment that
    reaches into the earlier one's dates.
    """
    issues = []
    seen: list[tuple[int, float, float]] = []
    for position, assignment in enumerate(assignments):
        item_place = f"{place}[{position}]"
        if assignment.plan not in plans:
            issues.append(ConfigIssue(f"{item_place}.plan", f"unknown plan {assignment.plan!r}"))
        start, end = window(assignment.valid_from, assignment.valid_until)
        if start >= end:
            issues.append(ConfigIssue(f"{item_place}.valid_until", "must be after valid_from"))
            continue
        for other, other_start, other_end in seen:
            if start < other_end and other_start < end:
                field = "valid_from" if start >= other_start else "valid_until"
                issues.append(
                    ConfigIssue(f"{item_place}.{field}", f"overlaps {place}[{other}] in time")
                )
        seen.append((position, start, end))
    return issues
