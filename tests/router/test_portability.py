"""The ported-numbers table: a lookup that agrees with a dict, before and after updates."""

import re
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import NO_PORTED, PortedNumbers, RepeatedNumbers, from_arrays, ported_numbers
from router.portability import PER_BUCKET

NETWORKS = ("20801", "20810", "20815", "20820", "23410", "250002")
numbers = st.integers(min_value=1, max_value=10**15 - 1).map(str)
near = st.integers(min_value=33_600_000_000, max_value=33_600_000_400).map(str)
"""Numbers packed close together, as in a ported range."""
some_numbers = st.one_of(numbers, near)
mappings = st.dictionaries(some_numbers, st.sampled_from(NETWORKS), max_size=300)
changes = st.dictionaries(some_numbers, st.sampled_from(("", *NETWORKS)), max_size=120)


def agrees(table: PortedNumbers, expected: dict[str, str], probes: list[str]) -> None:
    assert len(table) == len(expected)
    assert dict(table.items()) == expected
    for number in [*expected, *probes]:
        assert table.network_of(number) == expected.get(number), number


@settings(max_examples=200, deadline=None)
@given(mappings, st.lists(some_numbers, max_size=50))
def test_lookup_agrees_with_a_dict(expected: dict[str, str], probes: list[str]) -> None:
    agrees(ported_numbers(expected.items()), expected, probes)


@settings(max_examples=200, deadline=None)
@given(mappings, st.lists(changes, max_size=4), st.lists(some_numbers, max_size=50))
def test_updates_agree_with_a_dict(
    start: dict[str, str], updates: list[dict[str, str]], probes: list[str]
) -> None:
    table = ported_numbers(start.items())
    expected = dict(start)
    for update in updates:
        table = table.updated(update)
        for number, network in update.items():
            if network:
                expected[number] = network
            else:
                expected.pop(number, None)
        agrees(table, expected, probes)
    agrees(ported_numbers(start.items()), start, probes)  # the old tables never change


def test_an_empty_table_grows_by_updates_into_buckets() -> None:
    grown = NO_PORTED.updated({str(33_600_000_000 + n): "20810" for n in range(50 * PER_BUCKET)})
    assert len(grown) == 50 * PER_BUCKET
    assert grown.network_of("33600000007") == "20810"
    assert grown.network_of("33600000399") == "20810"
    assert grown.network_of("33600000400") is None
    assert len(NO_PORTED) == 0


@pytest.mark.parametrize(
    "destination",
    ["", "0336000000001", "3_3600000000", " 33600000000", "+33600000000", "٣٣6", "3" * 16, "336a"],
)
def test_what_is_not_an_international_number_is_never_ported(destination: str) -> None:
    table = ported_numbers([("33600000000", "20810"), ("336", "20801"), ("3" * 15, "20801")])
    assert table.network_of(destination) is None


def test_international_numbers_are_taken_with_or_without_plus() -> None:
    table = ported_numbers([("+33600000000", "20810")])
    assert table.network_of("33600000000") == "20810"
    assert table.updated({"+33600000000": ""}).network_of("33600000000") is None


@pytest.mark.parametrize("bad", ["", "0336", "33a", "+", "1234567890123456"])
def test_a_number_that_is_not_international_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"number {bad!r} is not international")):
        ported_numbers([(bad, "20801")])
    with pytest.raises(ValueError, match="is not international"):
        NO_PORTED.updated({bad: "20801"})


def test_from_arrays_names_the_numbers_listed_twice() -> None:
    with pytest.raises(RepeatedNumbers) as caught:
        from_arrays(array("q", [5, 7, 5, 9, 7]), array("H", [0, 1, 1, 0, 0]), ("20801", "20810"))
    assert caught.value.numbers == [5, 7]


def test_from_arrays_refuses_what_no_number_can_be() -> None:
    with pytest.raises(ValueError, match="must be international"):
        from_arrays(array("q", [0]), array("H", [0]), ("20801",))
    with pytest.raises(ValueError, match="must be international"):
        from_arrays(array("q", [10**15]), array("H", [0]), ("20801",))


def test_many_networks_widen_the_codes() -> None:
    many = [f"{20_000 + n}" for n in range(300)]
    table = ported_numbers((str(44_000 + n), network) for n, network in enumerate(many))
    assert table.network_of("44299") == many[299]
    updated = ported_numbers([("1", "20801")]).updated(dict(table.items()))
    assert updated.network_of("44299") == many[299] and updated.network_of("1") == "20801"


def test_memory_per_entry_is_that_of_two_arrays_and_offsets() -> None:
    count = 100_000
    table = from_arrays(
        array("q", range(33_600_000_000, 33_600_000_000 + 3 * count, 3)),
        array("H", [n % 4 for n in range(count)]),
        NETWORKS[:4],
    )
    assert 9.0 <= table.nbytes / len(table) <= 10.0
