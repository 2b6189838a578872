"""Tariff plans and tariff currencies: checked at load, applied by the message's time."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from router import (
    PlanView,
    RoutingConfigError,
    RoutingTable,
    Tier,
    explain_mt,
    load_data,
    load_toml_file,
)
from tests.router.builders import NOON, config, facts, route, routed, table

JUNE = datetime(2025, 6, 1, tzinfo=UTC)
JULY = datetime(2025, 7, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def priced(**sections: Any) -> dict[str, Any]:
    """Config data with plans ``gold`` (USD tariff) and ``silver`` (EUR), and one route."""
    data = config(**sections)
    data["tariffs"] |= {
        "gold-usd": {"currency": "USD", "rates": [{"prefix": "33", "price": 30_000}]},
        "silver": {"rates": [{"prefix": "", "price": 40_000}]},
        "own": {"currency": "GBP", "rates": [{"prefix": "", "price": 45_000}]},
    }
    data["plans"] = {
        "gold": {
            "tariff": "gold-usd",
            "tiers": [
                {"after_parts": 1_000, "discount": 500},
                {"after_parts": 10_000, "discount": 1_000},
            ],
        },
        "silver": {"tariff": "silver"},
    } | data.get("plans", {})
    data.setdefault("mt_routes", [route("all")])
    return data


def issues_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(RoutingConfigError) as caught:
        load_data(data)
    return [str(issue) for issue in caught.value.issues]


def at(moment: datetime) -> str:
    return moment.isoformat()


# Configuration


def test_each_bad_plan_and_assignment_is_named_by_its_field() -> None:
    data = priced(
        accounts={
            "bank": {
                "plans": [
                    {"plan": "gold", "valid_until": at(JUNE)},
                    {"plan": "silver", "valid_from": at(JULY), "valid_until": at(JUNE)},
                    {"plan": "platinum", "valid_from": at(JULY)},
                    {"plan": "silver", "valid_from": at(JUNE - SECOND), "valid_until": at(JULY)},
                ]
            }
        },
        groups={
            "banks": {
                "plans": [
                    {"plan": "gold", "valid_from": at(JUNE)},
                    {"plan": "silver", "valid_until": at(JUNE + SECOND)},
                ]
            }
        },
        plans={
            "bronze": {
                "tariff": "nowhere",
                "tiers": [
                    {"after_parts": 500, "discount": 100},
                    {"after_parts": 500, "discount": 200},
                    {"after_parts": 400, "discount": 300},
                ],
            }
        },
    )
    assert issues_of(data) == [
        "accounts.bank.plans[1].valid_until: must be after valid_from",
        "accounts.bank.plans[2].plan: unknown plan 'platinum'",
        "accounts.bank.plans[3].valid_from: overlaps accounts.bank.plans[0] in time",
        "plans.bronze.tariff: unknown tariff 'nowhere'",
        "plans.bronze.tiers[1].after_parts: must be above tiers[0].after_parts (500)",
        "plans.bronze.tiers[2].after_parts: must be above tiers[1].after_parts (500)",
        "groups.banks.plans[1].valid_until: overlaps groups.banks.plans[0] in time",
    ]


def test_an_assignment_starting_inside_another_is_named_at_its_valid_from() -> None:
    data = priced(
        accounts={
            "bank": {
                "plans": [
                    {"plan": "gold", "valid_from": at(JUNE), "valid_until": at(JULY)},
                    {"plan": "silver", "valid_from": at(JULY - SECOND)},
                    {"plan": "silver", "valid_from": at(JUNE), "valid_until": at(JUNE)},
                ]
            }
        }
    )
    assert issues_of(data) == [
        "accounts.bank.plans[1].valid_from: overlaps accounts.bank.plans[0] in time",
        "accounts.bank.plans[2].valid_until: must be after valid_from",
    ]


def test_back_to_back_assignments_do_not_overlap() -> None:
    plans = [
        {"plan": "gold", "valid_until": at(JUNE)},
        {"plan": "silver", "valid_from": at(JUNE), "valid_until": at(JULY)},
        {"plan": "gold", "valid_from": at(JULY)},
    ]
    load_data(priced(accounts={"bank": {"plans": plans}}, groups={"banks": {"plans": plans}}))


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        (
            "plans",
            {"p": {"tariff": "retail", "tiers": [{"after_parts": 0, "discount": 1}]}},
            "plans.p.tiers[0].after_parts: expected `int` >= 1",
        ),
        (
            "plans",
            {"p": {"tariff": "retail", "tiers": [{"after_parts": 1, "discount": 10_001}]}},
            "plans.p.tiers[0].discount: expected `int` <= 10000",
        ),
        (
            "plans",
            {"p": {"tariff": "retail", "tiers": [{"after_parts": 1, "discount": 0}]}},
            "plans.p.tiers[0].discount: expected `int` >= 1",
        ),
        ("plans", {"p": {}}, "plans.p.tariff: missing required field"),
        (
            "accounts",
            {"bank": {"plans": [{"plan": "gold", "valid_from": "2025-06-01T00:00:00"}]}},
            "accounts.bank.plans[0].valid_from: expected `datetime` with a timezone component",
        ),
        (
            "groups",
            {"banks": {"plans": [{"valid_from": "2025-06-01T00:00:00Z"}]}},
            "groups.banks.plans[0].plan: missing required field",
        ),
        (
            "groups",
            {"banks": {"sell_tariff": "retail"}},
            "groups.banks.sell_tariff: unknown field; known: plans",
        ),
        (
            "tariffs",
            {"t": {"currency": "usd", "rates": []}},
            "tariffs.t.currency: expected `str` matching regex '^[A-Z]{3}$'",
        ),
    ],
)
def test_malformed_plan_fields_are_named(
    section: str, value: dict[str, Any], expected: str
) -> None:
    data = priced()
    data[section] = data.get(section, {}) | value
    assert issues_of(data) == [expected]


def test_least_cost_refuses_connectors_costing_in_different_currencies() -> None:
    data = config(mt_routes=[route("lcr", {"kind": "least_cost", "connectors": ["a", "b"]})])
    data["tariffs"]["cost-b"]["currency"] = "USD"
    assert issues_of(data) == [
        "mt_routes[0].target.connectors[1]: least_cost compares costs in one currency: "
        "'b' costs in USD, 'a' in EUR"
    ]
    data["tariffs"]["cost-a"]["currency"] = "USD"
    load_data(data)


def test_plans_and_groups_round_trip_as_plain_data() -> None:
    """What the admin API hands back (GET) is what it takes (PUT)."""
    loaded = load_data(
        priced(groups={"banks": {"plans": [{"plan": "gold", "valid_from": at(JUNE)}]}})
    )
    assert load_data(msgspec.json.decode(msgspec.json.encode(loaded))) == loaded


# Pricing over time


def scheduled() -> RoutingTable:
    """``bank`` holds silver until June, then gold until July, then nothing; own tariff GBP."""
    return table(
        priced(
            accounts={
                "bank": {
                    "sell_tariff": "own",
                    "plans": [
                        {"plan": "silver", "valid_until": at(JUNE)},
                        {"plan": "gold", "valid_from": at(JUNE), "valid_until": at(JULY)},
                    ],
                }
            }
        )
    )


@pytest.mark.parametrize(
    ("now", "price", "currency", "plan_id"),
    [
        (JUNE - SECOND, 40_000, "EUR", "silver"),
        (JUNE, 30_000, "USD", "gold"),
        (JULY - SECOND, 30_000, "USD", "gold"),
        (JULY, 45_000, "GBP", ""),
    ],
)
def test_a_scheduled_plan_prices_from_its_date_with_no_reload(
    now: datetime, price: int, currency: str, plan_id: str
) -> None:
    decision = routed(scheduled().decide_mt(facts(account="bank", now=now)))
    assert (decision.sell_per_part, decision.currency, decision.plan_id) == (
        price,
        currency,
        plan_id,
    )


def test_a_plan_whose_tariff_has_no_rate_leaves_the_price_to_the_route() -> None:
    decision = routed(scheduled().decide_mt(facts(account="bank", destination="+4477", now=JUNE)))
    assert (decision.sell_per_part, decision.currency, decision.plan_id) == (50_000, "EUR", "")
    explanation = explain_mt(scheduled(), facts(account="bank", destination="+4477", now=JUNE))
    assert explanation.pricing == (
        "route 'all': tariff 'retail' in EUR "
        "(plan 'gold' of account 'bank': tariff 'gold-usd' has no rate for it)"
    )


def grouped() -> RoutingTable:
    return table(
        priced(
            accounts={
                "bank": {"sell_tariff": "own", "plans": [{"plan": "gold", "valid_from": at(JULY)}]},
                "shop": {"sell_tariff": "own"},
            },
            groups={
                "banks": {"plans": [{"plan": "silver", "valid_from": at(JUNE)}]},
                "vip": {"plans": [{"plan": "gold"}]},
            },
        )
    )


@pytest.mark.parametrize(
    ("account", "groups", "now", "plan_id"),
    [
        ("bank", ("banks",), JUNE - SECOND, ""),
        ("bank", ("banks",), JUNE, "silver"),
        ("bank", ("banks",), JULY, "gold"),
        ("bank", ("vip", "banks"), JUNE, "gold"),
        ("bank", ("banks", "vip"), JUNE, "silver"),
        ("bank", ("banks", "vip"), JUNE - SECOND, "gold"),
        ("shop", ("other", "banks"), JUNE, "silver"),
        ("shop", (), JUNE, ""),
        ("stranger", ("vip",), JUNE, "gold"),
    ],
)
def test_the_account_plan_comes_first_then_its_groups_in_order(
    account: str, groups: tuple[str, ...], now: datetime, plan_id: str
) -> None:
    table = grouped()
    decision = routed(table.decide_mt(facts(account=account, groups=groups, now=now)))
    assert decision.plan_id == plan_id
    view = table.plan_of(account, now.timestamp(), groups)
    assert (view.plan_id if view else "") == plan_id
    explained = explain_mt(table, facts(account=account, groups=groups, now=now)).decision
    assert explained == decision


def test_without_a_plan_the_account_tariff_then_the_route_tariff_prices() -> None:
    table = grouped()
    own = routed(table.decide_mt(facts(account="shop", now=JUNE)))
    assert (own.sell_per_part, own.currency, own.plan_id) == (45_000, "GBP", "")
    stranger = routed(table.decide_mt(facts(account="stranger", now=JUNE)))
    assert (stranger.sell_per_part, stranger.currency, stranger.plan_id) == (50_000, "EUR", "")


def test_plan_of_gives_the_plan_with_its_tiers_for_the_invoice() -> None:
    table = grouped()
    assert table.plan_of("bank", JULY.timestamp()) == PlanView(
        plan_id="gold",
        tariff="gold-usd",
        currency="USD",
        tiers=(Tier(after_parts=1_000, discount=500), Tier(after_parts=10_000, discount=1_000)),
    )
    assert table.plan_of("bank", JUNE.timestamp()) is None
    assert table.plan_of("bank", JUNE.timestamp(), ("banks",)) == PlanView(
        plan_id="silver", tariff="silver", currency="EUR", tiers=()
    )
    assert table.plan_of("nobody", JULY.timestamp()) is None


def test_explain_says_which_plan_of_whom_priced_and_in_which_currency() -> None:
    table = grouped()
    by_group = explain_mt(table, facts(account="shop", groups=("banks",), now=JUNE))
    assert by_group.pricing == "plan 'silver' of group 'banks': tariff 'silver' in EUR"
    by_account = explain_mt(table, facts(account="bank", groups=("banks",), now=JULY))
    assert by_account.pricing == "plan 'gold' of account 'bank': tariff 'gold-usd' in USD"
    own = explain_mt(table, facts(account="shop", now=JUNE))
    assert own.pricing == "account 'shop': tariff 'own' in GBP"


# Currencies and country on decisions


def test_costs_come_in_the_currency_of_the_connector_cost_tariff() -> None:
    data = config(
        mt_routes=[route("fo", {"kind": "failover", "connectors": ["a", "b", "c"]})],
    )
    data["tariffs"]["cost-a"]["currency"] = "CHF"
    table = RoutingTable(load_data(data))
    decision = routed(table.decide_mt(facts()))
    assert (decision.cost_per_part, decision.cost_currency, decision.currency) == (
        20_000,
        "CHF",
        "EUR",
    )
    assert table.cost_per_part("b", decision.destination, NOON) == 25_000
    assert [table.cost_currency(c) for c in ("a", "b", "c", "unknown")] == [
        "CHF",
        "EUR",
        "EUR",
        "EUR",
    ]
    unpriced = routed(table.decide_mt(facts(destination="+4477")))
    assert (unpriced.cost_per_part, unpriced.cost_currency) == (None, "EUR")


def test_decisions_name_the_destination_country() -> None:
    table_ = table(config(mt_routes=[route("all")]))
    countries = {
        number: routed(table_.decide_mt(facts(destination="+" + number))).country
        for number in ("33612345678", "12045551234", "12125551234", "77012345678", "8001234567")
    }
    assert countries == {
        "33612345678": "FR",
        "12045551234": "CA",
        "12125551234": "US",
        "77012345678": "KZ",
        "8001234567": "",
    }


def test_the_documented_example_moves_banks_to_their_usd_plan_on_its_date() -> None:
    example = RoutingTable(load_toml_file(Path(__file__).parent / "fixtures" / "example.toml"))
    before = datetime(2026, 5, 31, 23, 59, 59, tzinfo=UTC)
    for now, expected in [
        (before, (45_000, "EUR", "")),
        (before + SECOND, (52_000, "USD", "banks-usd")),
    ]:
        sample = facts(account="bank-lyon", groups=("banks",), destination="+33712345678", now=now)
        decision = routed(example.decide_mt(sample, usable={"hub"}))
        assert (decision.sell_per_part, decision.currency, decision.plan_id) == expected
