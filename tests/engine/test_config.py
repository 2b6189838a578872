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
    assert "surprise" in places and "limits" in places and "shard_number" in places
    assert "connectors[0]" in places
    assert any(place.startswith("routing.") for place in places)


def test_duplicate_ids_are_refused() -> None:
    doubled = GOOD + '\n[[accounts]]\nid = "bank"\npassword_hash = "x"\n'
    with pytest.raises(ConfigError, match=r"accounts\[1\]\.id: 'bank' appears twice"):
        load_config(doubled)


def test_broken_toml_says_where() -> None:
    with pytest.raises(ConfigError, match="TOML"):
        load_config("shard = ")
