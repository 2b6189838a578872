import pytest

from engine.config import ConfigError, load_config
from engine.messages.message import Priority

GOOD = """
shard = "shard-1"
shard_number = 3
metrics_port = 9102

[[listeners]]
port = 2775

[limits]
validity_default = 3600

[[accounts]]
id = "bank"
password_hash = "scrypt$10$8$1$AAAA$AAAA"
priority = 1

[[connectors]]
id = "op-a"
host = "10.0.0.5"
system_id = "bank"

[routing]
currency = "EUR"
connectors = { op-a = {} }
"""


def test_a_complete_file_loads_typed() -> None:
    config = load_config(GOOD)
    assert config.shard_number == 3
    assert config.accounts[0].priority is Priority.EXPRESS
    assert config.connectors[0].port == 2775
    assert config.limits.validity.default == 3600
    assert config.routing is not None and config.routing.currency == "EUR"


def test_every_error_is_reported_with_its_place() -> None:
    bad = (
        GOOD.replace("shard_number = 3", "shard_number = 300")
        .replace("validity_default = 3600", 'validity_default = "soon"')
        .replace('host = "10.0.0.5"', "host = 5")
        .replace('currency = "EUR"', 'currency = "euro"')
    )
    bad = "surprise = 1\n" + bad
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    places = [issue.split(":")[0] for issue in caught.value.issues]
    assert "surprise" in places and "limits.validity_default" in places
    assert "shard_number" in places and "connectors[0].host" in places
    assert any(place.startswith("routing.") for place in places)


@pytest.mark.parametrize(
    "limits", ["validity_default = 0", "validity_default = 3600\nvalidity_max = 60"]
)
def test_a_validity_default_outside_its_range_is_refused_at_load(limits: str) -> None:
    with pytest.raises(ConfigError, match=r"limits: .*0 < validity_default <= validity_max"):
        load_config(GOOD.replace("validity_default = 3600", limits))


def test_duplicate_ids_are_refused() -> None:
    doubled = GOOD + '\n[[accounts]]\nid = "bank"\npassword_hash = "x"\n'
    with pytest.raises(ConfigError, match=r"accounts\[1\]\.id: 'bank' appears twice"):
        load_config(doubled)


def test_broken_toml_says_where() -> None:
    with pytest.raises(ConfigError, match="TOML"):
        load_config("shard = ")


def test_every_error_of_one_item_is_reported_not_only_the_first() -> None:
    bad = GOOD.replace('system_id = "bank"', 'system_id = "bank"\nwindow = 0\nthroughput = -1')
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert [issue.split(":")[0] for issue in caught.value.issues] == [
        "connectors[0].window",
        "connectors[0].throughput",
    ]


def test_routing_sections_at_the_top_level_are_refused_with_the_nesting() -> None:
    with pytest.raises(ConfigError, match=r"mt_routes: belongs under \[routing\]"):
        load_config(GOOD + "\n[[mt_routes]]\nid = 'r'\n")


def test_a_default_host_applies_where_the_file_names_none() -> None:
    config = load_config(GOOD + '\n[[listeners]]\nhost = "10.1.1.1"\n', default_host="0.0.0.0")
    assert [listener.host for listener in config.listeners] == ["0.0.0.0", "10.1.1.1"]
    assert config.api.host == config.metrics_host == "0.0.0.0"
    assert load_config(GOOD).listeners[0].host == "127.0.0.1"


def test_an_account_in_an_unknown_currency_is_refused_by_name() -> None:
    text = '[[accounts]]\nid = "bank"\npassword_hash = "x"\ncurrency = "XYZ"\n'
    with pytest.raises(ConfigError, match=r"accounts\[0\]: currency: unknown currency 'XYZ'"):
        load_config(text)
    billed = load_config(text.replace("XYZ", "UZS") + "discount = 500\ntax_rate = 1200\n")
    assert (billed.accounts[0].currency, billed.accounts[0].discount) == ("UZS", 500)
