from hypothesis import given, settings
from hypothesis import strategies as st

from router.prefixes import PrefixMap, ancestor

digits = st.text(alphabet="0123", max_size=7)
numbers = st.text(alphabet="0123", max_size=10)


def brute_force_longest(entries: dict[str, int], key: str) -> int | None:
    matching = [prefix for prefix in entries if key.startswith(prefix)]
    return entries[max(matching, key=len)] if matching else None


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(digits, st.integers(), max_size=40), st.lists(numbers, max_size=20))
def test_longest_matches_brute_force(entries: dict[str, int], keys: list[str]) -> None:
    prefix_map = PrefixMap(entries.items())
    for key in [*keys, *entries]:
        assert prefix_map.longest(key) == brute_force_longest(entries, key)


def test_longest_prefers_the_longer_prefix_and_falls_back() -> None:
    prefix_map = PrefixMap([("33", "FR"), ("336", "FR mobile"), ("3361", "Orange")])
    assert prefix_map.longest("33612345678") == "Orange"
    assert prefix_map.longest("33712345678") == "FR"
    assert prefix_map.longest("336") == "FR mobile"
    assert prefix_map.longest("3") is None
    assert prefix_map.longest("4412") is None
    assert len(prefix_map) == 3


def test_empty_prefix_matches_every_key() -> None:
    prefix_map = PrefixMap([("", "anywhere"), ("44", "UK")])
    assert prefix_map.longest("") == "anywhere"
    assert prefix_map.longest("1555") == "anywhere"
    assert prefix_map.longest("447700") == "UK"


def test_non_digit_keys_only_match_what_they_start_with() -> None:
    prefix_map = PrefixMap([("33", 1)])
    assert prefix_map.longest("INFO") is None
    assert prefix_map.longest("33ABC") == 1


def test_ancestor_is_the_longest_proper_prefix() -> None:
    found = {"": 0, "3": 1, "336": 3}
    assert ancestor(found, "3361") == 3
    assert ancestor(found, "336") == 1
    assert ancestor(found, "3") == 0
    assert ancestor({}, "3") is None


def test_holds_tens_of_thousands_of_prefixes() -> None:
    entries = {f"{n:05d}": n for n in range(0, 100_000, 3)}
    prefix_map = PrefixMap(entries.items())
    assert len(prefix_map) == 33_334
    assert prefix_map.longest("0000312345") == 3
    assert prefix_map.longest("0000412345") is None
