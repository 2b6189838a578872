import random
from datetime import UTC, datetime
from pathlib import Path

from router import (
    NO_ROUTE,
    MessageFacts,
    MtRouted,
    RouteTrace,
    RoutingTable,
    explain_mo,
    explain_mt,
    load_toml_file,
)
from router.explain import NOT_TRIED

EXAMPLE = Path(__file__).parent / "fixtures" / "example.toml"
MORNING = datetime(2025, 12, 3, 10, 0, tzinfo=UTC)
NIGHT = datetime(2025, 12, 3, 22, 0, tzinfo=UTC)


def example() -> RoutingTable:
    return RoutingTable(load_toml_file(EXAMPLE), random.Random(1))


def test_each_route_says_why_it_did_or_did_not_apply() -> None:
    facts = MessageFacts(
        source="BANK",
        destination="+33712345678",
        account="bank-lyon",
        groups=("banks",),
        priority="otp",
        now=NIGHT,
    )
    explanation = explain_mt(example(), facts, usable={"hub"})
    assert explanation.destination == "33712345678"
    assert explanation.network == ""
    assert explanation.routes == (
        RouteTrace(
            route_id="otp-fr",
            matched=True,
            decided=False,
            reason="none of its connectors is usable: orange-fr, sfr",
        ),
        RouteTrace(
            route_id="no-premium",
            matched=False,
            decided=False,
            reason="filters.destination_prefix: destination is '33712345678', "
            "wanted a prefix among ['33899', '449']",
        ),
        RouteTrace(
            route_id="banks-office-hours",
            matched=False,
            decided=False,
            reason="filters.time_of_day: local time is wed 23:00:00, "
            "wanted 08:00:00-20:00:00 Europe/Paris",
        ),
        RouteTrace(
            route_id="uk-promo-december",
            matched=False,
            decided=False,
            reason="filters.destination_network: destination is in no network "
            "of the numbering plan, wanted one of ['23410']",
        ),
        RouteTrace(route_id="everything-else", matched=True, decided=True, reason="decides"),
    )
    assert explanation.decision == MtRouted(
        route_id="everything-else",
        connectors=("hub",),
        destination="33712345678",
        network="",
        sell_per_part=45_000,
        cost_per_part=26_000,
        currency="EUR",
        plan_id="",
        cost_currency="EUR",
        country="FR",
    )
    assert explanation.country == "FR"
    assert explanation.pricing == "route 'everything-else': tariff 'retail' in EUR"


def test_exclusions_dates_and_later_matches_are_explained() -> None:
    facts = MessageFacts(
        source="ShopLdn",
        destination="+447700900123",
        groups=("banks",),
        tags=("promo",),
        content="CASINO tonight",
        now=datetime(2025, 11, 30, 10, 0, tzinfo=UTC),
    )
    reasons = {trace.route_id: trace.reason for trace in explain_mt(example(), facts).routes}
    assert reasons["no-premium"].startswith("filters.destination_prefix")
    assert reasons["banks-office-hours"].startswith("filters.destination_prefix")
    assert reasons["uk-promo-december"] == (
        "filters.date: now is 2025-11-30T10:00:00+00:00, wanted a time "
        "from 2025-12-01T00:00:00+00:00 until 2026-01-01T00:00:00+00:00"
    )
    assert reasons["everything-else"] == "decides"
    in_december = MessageFacts(
        source="ShopLdn",
        destination="+447700900123",
        tags=("promo",),
        now=datetime(2025, 12, 30, 10, 0, tzinfo=UTC),
    )
    traces = explain_mt(example(), in_december).routes
    assert [(t.route_id, t.decided, t.reason) for t in traces[3:]] == [
        ("uk-promo-december", True, "decides"),
        ("everything-else", False, NOT_TRIED),
    ]


def test_content_exclusion_is_reported_with_what_was_seen() -> None:
    facts = MessageFacts(
        source="BANK",
        destination="0612345678",
        account="bank-paris",
        groups=("banks",),
        content="Casino night at the bank, tonight only, with prizes for all",
        now=MORNING,
    )
    trace = explain_mt(example(), facts).routes[2]
    assert trace == RouteTrace(
        route_id="banks-office-hours",
        matched=False,
        decided=False,
        reason="unless.content: content is 'Casino night at the bank, tonight onl...', "
        "excluded a match for /(?i)\\bcasino\\b/",
    )


def test_no_route_when_nothing_applies() -> None:
    facts = MessageFacts(source="BANK", destination="+15551234567", now=MORNING)
    explanation = explain_mt(example(), facts, usable={"orange-fr"})
    assert explanation.decision is NO_ROUTE
    assert explanation.routes[-1] == RouteTrace(
        route_id="everything-else",
        matched=True,
        decided=False,
        reason="no usable connector among orange-fr, sfr, hub carries '15551234567'",
    )


def test_mo_explain() -> None:
    facts = MessageFacts(
        source="33612345678", destination="33610000999", connector="hub", now=MORNING
    )
    explanation = explain_mo(example(), facts, usable={"nobody"})
    assert [(t.route_id, t.matched, t.decided) for t in explanation.routes] == [
        ("bank-replies", False, False),
        ("stop-keywords", False, False),
        ("unknown-number", True, True),
    ]
    assert explanation.routes[0].reason == (
        "filters.connector: connector is 'hub', wanted one of ['orange-fr', 'sfr']"
    )
    stop = MessageFacts(
        source="33612345678", destination="33699", connector="hub", content="stop", now=MORNING
    )
    traces = explain_mo(example(), stop, usable={"nobody"}).routes
    assert traces[1].reason == "none of its accounts is usable: opt-out, bank-paris"
