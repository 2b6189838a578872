"""Random plan schedules: the compiled pricing equals a plain reading of the config.

The reference restates the pricing rule on the config data: the plan the account
holds at the message's time, else one its groups hold then (first group first),
else its own tariff; the route's tariff when that tariff has no rate for the
destination. It walks the assignments and rates by brute force and shares no code
with ``router.plans`` or the tariffs' schedules.
"""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from router import MessageFacts, explain_mt, load_data
from router.table import RoutingTable
from tests.router.builders import routed

BASE = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
INSTANTS = [BASE + timedelta(hours=hours) for hours in range(4)]
"""Where assignments may start or end; messages come at, just before and between them."""
PLANS = {"p1": "t1", "p2": "t2", "p3": "t3"}
CURRENCIES = {"retail": "EUR", "t1": "USD", "t2": "EUR", "t3": "GBP"}
HOLDERS = ["a1", "a2", "g1", "g2"]
short_digits = st.text(alphabet="12", min_size=1, max_size=2)


@st.composite
def schedules(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Assignments that do not overlap: cuts through time, each slice a plan or a gap."""
    cuts = sorted(draw(st.sets(st.sampled_from(INSTANTS), max_size=3)))
    edges: list[datetime | None] = [None, *cuts, None]
    held = []
    for start, end in itertools.pairwise(edges):
        plan = draw(st.sampled_from([None, *PLANS]))
        if plan is not None:
            assignment: dict[str, Any] = {"plan": plan}
            if start is not None:
                assignment["valid_from"] = start.isoformat()
            if end is not None:
                assignment["valid_until"] = end.isoformat()
            held.append(assignment)
    return draw(st.permutations(held))


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    tariffs: dict[str, Any] = {"retail": {"rates": [{"prefix": "", "price": 100}]}}
    for price, tariff in enumerate(("t1", "t2", "t3"), start=1):
        prefixes = draw(st.lists(short_digits, unique=True, max_size=3))
        tariffs[tariff] = {
            "currency": CURRENCIES[tariff],
            "rates": [{"prefix": p, "price": price * 10 + len(p)} for p in prefixes],
        }
    accounts = {}
    for account in ("a1", "a2"):
        accounts[account] = {"plans": draw(schedules())}
        own = draw(st.sampled_from([None, "t1", "t3"]))
        if own is not None:
            accounts[account]["sell_tariff"] = own
    return {
        "currency": "EUR",
        "connectors": {"a": {}},
        "tariffs": tariffs,
        "plans": {plan: {"tariff": tariff} for plan, tariff in PLANS.items()},
        "accounts": accounts,
        "groups": {group: {"plans": draw(schedules())} for group in ("g1", "g2")},
        "mt_routes": [
            {"id": "r", "target": {"kind": "static", "connector": "a"}, "sell_tariff": "retail"}
        ],
    }


moments = st.sampled_from(INSTANTS).flatmap(
    lambda instant: st.sampled_from([instant, instant - timedelta(seconds=1)])
)
messages = st.builds(
    MessageFacts,
    source=st.just("S"),
    destination=st.text(alphabet="123", min_size=3, max_size=3).map(lambda d: "+" + d),
    now=moments,
    account=st.sampled_from(["a1", "a2", "a3"]),
    groups=st.lists(st.sampled_from(["g1", "g2", "g3"]), max_size=3, unique=True).map(tuple),
)


def held_at(assignments: list[dict[str, Any]], now: datetime) -> str | None:
    for assignment in assignments:
        start = assignment.get("valid_from")
        end = assignment.get("valid_until")
        if (start is None or datetime.fromisoformat(start) <= now) and (
            end is None or now < datetime.fromisoformat(end)
        ):
            return str(assignment["plan"])
    return None


def reference_plan(data: dict[str, Any], facts: MessageFacts) -> str | None:
    holders = [data["accounts"].get(facts.account, {})]
    holders += [data["groups"].get(group, {}) for group in facts.groups]
    for holder in holders:
        plan = held_at(holder.get("plans", []), facts.now)
        if plan is not None:
            return plan
    return None


def reference_price(data: dict[str, Any], facts: MessageFacts) -> tuple[int, str, str]:
    """(price, currency, plan id) of the message."""
    destination = facts.destination.removeprefix("+")
    plan = reference_plan(data, facts)
    tariff = PLANS[plan] if plan else data["accounts"].get(facts.account, {}).get("sell_tariff")
    if tariff is not None:
        rates = [r for r in data["tariffs"][tariff]["rates"] if destination.startswith(r["prefix"])]
        if rates:
            price = max(rates, key=lambda rate: len(rate["prefix"]))["price"]
            return price, CURRENCIES[tariff], plan or ""
    return 100, "EUR", ""


@settings(max_examples=300, deadline=None)
@given(configs(), st.lists(messages, min_size=1, max_size=10))
def test_pricing_matches_the_reference(data: dict[str, Any], batch: list[MessageFacts]) -> None:
    table = RoutingTable(load_data(data))
    for facts in batch:
        decision = routed(table.decide_mt(facts))
        found = (decision.sell_per_part, decision.currency, decision.plan_id)
        assert found == reference_price(data, facts)
        assert explain_mt(table, facts).decision == decision
        view = table.plan_of(facts.account, facts.now.timestamp(), facts.groups)
        assert (view.plan_id if view else None) == reference_plan(data, facts)
