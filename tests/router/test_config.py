import re
import tomllib
from pathlib import Path

import msgspec
import pytest

import router.config
from router import RoutingConfigError, RoutingTable, load_data, load_toml, load_toml_file
from router.schema import FailoverTarget, RejectTarget

EXAMPLE = Path(__file__).parent / "fixtures" / "example.toml"


def test_documented_example_is_the_fixture_and_loads() -> None:
    documented = re.search(r"```toml\n(.*?)```", router.config.__doc__ or "", re.S)
    assert documented is not None
    assert documented.group(1) == EXAMPLE.read_text(encoding="utf-8")
    config = load_toml_file(EXAMPLE)
    assert [route.id for route in config.mt_routes] == [
        "otp-fr",
        "no-premium",
        "banks-office-hours",
        "uk-promo-december",
        "everything-else",
    ]
    assert isinstance(config.mt_routes[0].target, FailoverTarget)
    assert isinstance(config.mo_routes[2].target, RejectTarget)
    assert config.mo_routes[2].target.command_status == 0x0B
    assert RoutingTable(config).sizes["mt_routes"] == 5


def test_plain_data_with_text_dates_loads_the_same_config() -> None:
    """What the admin API sends (JSON: dates and times as text) gives the same table."""
    config = load_toml_file(EXAMPLE)
    as_json = msgspec.json.decode(msgspec.json.encode(config))
    assert isinstance(as_json["tariffs"]["banks-eu"]["rates"][0]["valid_until"], str)
    assert load_data(as_json) == config


def issues_of(text: str) -> list[str]:
    """Issues of the routing section written in TOML ``text`` (the contents of ``[routing]``)."""
    with pytest.raises(RoutingConfigError) as caught:
        load_data(tomllib.loads(text))
    return [str(issue) for issue in caught.value.issues]


BROKEN = """
currency = "euro"
colour = "blue"

[countries.FR]
calling_code = "33"
trunk_prefix = "00"
national_lengths = [9, 20]

[countries.france]
calling_code = "33"
national_lengths = [9]

[accounts.bank]
default_country = "DE"
sell_tariff = "missing"

[connectors.a]
cost_tariff = "cost-a"

[connectors.b]

[[tariffs.cost-a.rates]]
prefix = "33"
price = 10

[[tariffs.cost-a.rates]]
prefix = "33"
price = 11
valid_from = 2025-01-01T00:00:00Z

[[tariffs.cost-a.rates]]
prefix = "3x"
price = -1

[[tariffs.cost-a.rates]]
prefix = "44"
price = 5
valid_from = 2025-02-01T00:00:00Z
valid_until = 2025-01-01T00:00:00Z

[networks]
"3361" = "2080"

[[mt_routes]]
id = "r1"
sell_tariff = "retail"
target = { kind = "static", connector = "nowhere" }
filters = { destination_prefix = ["33", "+44"], account = [], source = "(unclosed" }

[[mt_routes]]
id = "r1"
target = { kind = "least_cost", connectors = ["a", "b", "a"] }
unless = { date = { start = 2025-02-01T00:00:00Z, end = 2025-01-01T00:00:00Z } }

[mt_routes.filters]
connector = ["a"]
time_of_day = { start = 08:00:00, end = 08:00:00, timezone = "Mars/Olympus" }

[[mt_routes]]
id = "r3"
target = { kind = "teleport" }

[[mt_routes]]
id = "r4"
sell_tariff = "cost-a"
target = { kind = "reject", command_status = 0, reason = "" }

[[mt_routes]]
id = "r5"
target = { kind = "failover", connectors = ["a"] }
filters = { destination_network = ["20899"], data_coding = [256], priority = ["urgent"] }

[[mo_routes]]
id = "m1"
filters = { account = ["bank"] }
target = { kind = "static", connector = "a" }
"""


def test_every_error_is_reported_at_once_with_its_place() -> None:
    issues = issues_of(BROKEN)
    expected = [
        "colour: unknown section",
        "currency: expected `str` matching regex '^[A-Z]{3}$'",
        "countries.FR.national_lengths[1]: expected `int` <= 14",
        "countries.france: expected `str` matching regex '^[A-Z]{2}$'",
        "accounts.bank.default_country: unknown country 'DE'",
        "accounts.bank.sell_tariff: unknown tariff 'missing'",
        "tariffs.cost-a.rates[2].prefix: expected `str` matching regex '^[0-9]*$'",
        "tariffs.cost-a.rates[2].price: expected `int` >= 0",
        "networks.3361: expected `str` matching regex '^[0-9]{5,6}$'",
        "mt_routes[0].filters.destination_prefix[1]: expected `str` matching regex '^[0-9]+$'",
        "mt_routes[0].filters.account: expected `array` of length >= 1",
        "mt_routes[1].filters.connector: unknown field",
        "mt_routes[1].target.connectors[2]: 'a' is listed twice",
        "mt_routes[1].target.connectors[1]: least_cost needs a cost_tariff on it",
        "mt_routes[1].unless.date.end: must be after start",
        "mt_routes[2].target.kind: must be one of failover, least_cost, reject, round_robin, "
        "static, weighted",
        "mt_routes[3].target.command_status: expected `int` >= 1",
        "mt_routes[3].target.reason: expected `str` of length >= 1",
        "mt_routes[4].filters.data_coding[0]: expected `int` <= 255",
        "mt_routes[4].filters.priority[0]: invalid enum value 'urgent'",
        "mo_routes[0].filters.account: unknown field",
        "mo_routes[0].target.connector: unknown field",
        "mo_routes[0].target.account: missing required field",
    ]
    for start in expected:
        assert any(issue.startswith(start) for issue in issues), start
    assert len(issues) >= len(expected)


def test_cross_checks_run_on_every_item_that_is_well_typed() -> None:
    text = BROKEN.replace('connector = ["a"]\n', "").replace("[9, 20]", "[9]")
    text = text.replace('prefix = "3x"\nprice = -1', 'prefix = "39"\nprice = 1')
    text = text.replace('["33", "+44"], account = []', '["33"]')
    text = text.replace('data_coding = [256], priority = ["urgent"]', "data_coding = [8]")
    issues = issues_of(text)
    for expected in [
        "countries.FR.trunk_prefix: must not start with the international_prefix",
        "tariffs.cost-a.rates[1]: overlaps rates[0] for prefix '33' in time",
        "tariffs.cost-a.rates[3].valid_until: must be after valid_from",
        "mt_routes[0].filters.source: invalid regular expression",
        "mt_routes[1].id: duplicate of mt_routes[0].id",
        "mt_routes[1].target.connectors[2]: 'a' is listed twice",
        "mt_routes[1].target.connectors[1]: least_cost needs a cost_tariff on it",
        "mt_routes[1].filters.time_of_day.end: must differ from start",
        "mt_routes[1].filters.time_of_day.timezone: unknown time zone 'Mars/Olympus'",
        "mt_routes[1].unless.date.end: must be after start",
        "mt_routes[4].filters.destination_network[0]: no prefix maps to network '20899'",
    ]:
        assert any(issue.startswith(expected) for issue in issues), expected


def test_known_names_are_not_reported_unknown_when_their_own_entry_is_broken() -> None:
    issues = issues_of(
        """
currency = "EUR"
[connectors.a]
cost_tariff = "t"
[tariffs.t]
rates = [{ prefix = "33", price = "cheap" }]
"""
    )
    assert issues == ["tariffs.t.rates[0].price: expected `int`, got `str`"]


def test_other_reference_errors() -> None:
    issues = issues_of(
        """
currency = "EUR"
[connectors.a]
cost_tariff = "nope"
[[mt_routes]]
id = "r"
sell_tariff = "nope"
target = { kind = "weighted", weights = { a = 1, ghost = 2 } }
[[mt_routes]]
id = "x"
sell_tariff = "nope"
target = { kind = "reject", command_status = 0x45, reason = "no" }
[countries.IT]
calling_code = "39"
national_lengths = [13, 14]
"""
    )
    assert issues == [
        "countries.IT.national_lengths: calling code + length exceeds 15 digits",
        "connectors.a.cost_tariff: unknown tariff 'nope'",
        "mt_routes[0].sell_tariff: unknown tariff 'nope'",
        "mt_routes[0].target.weights.ghost: unknown connector 'ghost'",
        "mt_routes[1].sell_tariff: unknown tariff 'nope'",
        "mt_routes[1].sell_tariff: a reject route sells nothing",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], ["expected a table at the top level"]),
        ({}, ["currency: missing required field"]),
        ({"currency": "EUR", "mt_routes": {}}, ["mt_routes: expected an array of tables"]),
        ({"currency": "EUR", "tariffs": []}, ["tariffs: expected a table"]),
        (
            {"currency": "EUR", "mt_routes": [{"id": "r", "target": "a"}]},
            ["mt_routes[0].target: expected a table, got a string"],
        ),
        (
            {"currency": "EUR", "mt_routes": [{"target": {"kind": "reject"}}]},
            [
                "mt_routes[0].id: missing required field",
                "mt_routes[0].target.command_status: missing required field",
                "mt_routes[0].target.reason: missing required field",
            ],
        ),
        (
            {"currency": "EUR", "tariffs": {"t": {"rates": [{"prefix": "1", "price": 1.5}]}}},
            ["tariffs.t.rates[0].price: expected `int`, got `float`"],
        ),
        (
            {
                "currency": "EUR",
                "connectors": {"a": {}},
                "mt_routes": [
                    {"id": "r", "target": {"kind": "weighted", "weights": {"a": 0}}},
                    {"id": "s", "target": {"kind": "weighted", "weights": {}}},
                ],
            },
            [
                "mt_routes[0].target.weights.a: expected `int` >= 1",
                "mt_routes[1].target.weights: expected `object` of length >= 1",
            ],
        ),
        (
            {"currency": "EUR", "tariffs": {"t": {"rates": "none"}}},
            ["tariffs.t.rates: expected an array, got a string"],
        ),
        (
            {
                "currency": "EUR",
                "mt_routes": [
                    {
                        "id": "r",
                        "target": {"kind": "reject", "command_status": 8, "reason": "x"},
                        "filters": {"date": {"start": "2025-01-01T00:00:00"}},
                    }
                ],
            },
            ["mt_routes[0].filters.date.start: expected `datetime` with a timezone component"],
        ),
    ],
)
def test_plain_data_errors(data: object, expected: list[str]) -> None:
    with pytest.raises(RoutingConfigError) as caught:
        load_data(data)
    assert [str(issue) for issue in caught.value.issues] == expected


def toml_issues(text: str) -> list[str]:
    with pytest.raises(RoutingConfigError) as caught:
        load_toml(text)
    return [str(issue) for issue in caught.value.issues]


def test_invalid_toml_is_one_issue() -> None:
    assert toml_issues("currency = ")[0].startswith("invalid TOML: ")


def test_a_file_places_its_issues_under_routing() -> None:
    text = '[routing]\ncurrency = "EUR"\n[[routing.mt_routes]]\nid = "r"\n'
    assert toml_issues(text) == ["routing.mt_routes[0].target: missing required field"]


def test_a_file_with_routing_sections_at_its_top_level_is_refused_with_the_nesting() -> None:
    """The shape routing files had before they nested like smsgw.toml."""
    flat = '[routing]\ncurrency = "EUR"\n[[mt_routes]]\nid = "r"\n[colour]\n'
    assert toml_issues(flat) == [
        "mt_routes: belongs under [routing] (one nesting in every file): "
        "move it to routing.mt_routes",
        "colour: unknown section",
    ]
    assert toml_issues("") == ["routing: missing required table"]


def test_error_message_lists_every_issue() -> None:
    with pytest.raises(RoutingConfigError) as caught:
        load_data({"currency": "eur", "extra": 1})
    assert str(caught.value) == (
        "2 error(s) in routing configuration:\n"
        "  extra: unknown section; known: accounts, connectors, countries, currency, "
        "groups, mo_routes, mt_routes, networks, plans, tariffs\n"
        "  currency: expected `str` matching regex '^[A-Z]{3}$'"
    )
