"""Routing table benchmark: decisions per second and decision latency.

``python -m bench.router --json`` builds a table of 50 MT routes over 20,000
destination prefixes (plus cost tariffs for LCR and a numbering plan), warms
up, then times a fixed number of decisions twice: once in a bare loop for
throughput, once with ``time.perf_counter_ns`` around each call for the latency
percentiles (which so include the clock's own cost, about 0.1 us). The message
mix: most messages match a route on account and destination prefix, some a
route with regular-expression filters, the rest fall through to least-cost
routing. Everything is seeded, so runs are comparable.

Each figure is measured twice: with ``usable=None`` (every connector usable)
and with ``usable`` a frozenset of live connectors, as the engine passes it
(``LIVE_CONNECTORS``: one of the eight is down). ``--digest`` prints instead a
SHA-256 of ``--decisions`` decisions over as many messages of the same mix on
a fresh table, per variant: a change meant to make decisions faster must leave
it unchanged.

``portability`` measures number portability (``router.portability``): a table
of ``--ported`` numbers (by default ``PORTED_PER_PREFIX`` per destination
prefix: two million), among them the destinations of ``PORTED_SHARE`` of the
messages; the bytes it holds per entry, the time to build it from the arrays a
file reader collects, the time of one lookup over the message mix (hits and
misses), and the decision figures again with it in the table.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from array import array
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from bench.output import print_report
from router import (
    MessageFacts,
    MtDecision,
    MtRouted,
    Rejected,
    RoutingTable,
    Usable,
    from_arrays,
    load_data,
)

COUNTRY_CODES = ["33", "34", "39", "44", "49", "1", "7", "31", "32", "41", "351", "353", "48"]
CONNECTORS = [f"operator-{n}" for n in range(8)]
PREFIX_ROUTES = 40
PATTERN_ROUTES = 6
OTHER_ROUTES = 3
LIVE_CONNECTORS = frozenset(CONNECTORS[1:])
"""What the engine passes as ``usable`` in the live-set variant: operator-0 has no bind."""
MESSAGE_MIX = 10_000
PORTED_PER_PREFIX = 100
PORTED_SHARE = 0.2
"""Messages whose destination is a ported number."""


def build_config(seed: int, prefix_count: int) -> dict[str, Any]:
    """Plain config data, as the admin API would hand it over."""
    rng = random.Random(seed)
    prefixes = _prefixes(rng, prefix_count)
    slices = [prefixes[i::PREFIX_ROUTES] for i in range(PREFIX_ROUTES)]
    routes: list[dict[str, Any]] = [
        {
            "id": "otp-priority",
            "filters": {"priority": ["otp"], "account_group": ["banks"]},
            "target": {"kind": "failover", "connectors": CONNECTORS[:3]},
            "sell_tariff": "retail",
        },
        {
            "id": "no-premium",
            "filters": {"destination_prefix": ["33899", "449", "1900"]},
            "target": {"kind": "reject", "command_status": 0x0B, "reason": "premium"},
        },
    ]
    for n, chunk in enumerate(slices):
        kind = ("static", "failover", "weighted", "round_robin")[n % 4]
        routes.append(
            {
                "id": f"account-{n}-ranges",
                "filters": {
                    "account": [f"acct-{n}", f"acct-{n + 100}"],
                    "destination_prefix": chunk,
                },
                "target": _target(kind, rng),
                "sell_tariff": "retail",
            }
        )
    for n in range(PATTERN_ROUTES):
        routes.append(
            {
                "id": f"pattern-{n}",
                "filters": {
                    "account_group": [f"group-{n}"],
                    "source": rf"^(BANK|SHOP){n}[A-Z]*$",
                    "content": rf"(?i)\bcode {n}\d+\b",
                },
                "unless": {"tag": ["bulk"]},
                "target": _target("weighted", rng),
                "sell_tariff": "retail",
            }
        )
    routes.append(
        {
            "id": "night-bulk",
            "filters": {
                "priority": ["bulk"],
                "time_of_day": {"start": "21:00:00", "end": "08:00:00", "timezone": "Europe/Paris"},
            },
            "target": {"kind": "reject", "command_status": 0x58, "reason": "bulk sends by day"},
        }
    )
    routes.append(
        {
            "id": "everything-else",
            "target": {"kind": "least_cost", "connectors": CONNECTORS},
            "sell_tariff": "retail",
        }
    )
    tariffs: dict[str, Any] = {
        "retail": {
            "rates": [
                {"prefix": cc, "price": 40_000 + 1_000 * i} for i, cc in enumerate(COUNTRY_CODES)
            ]
        }
    }
    for connector in CONNECTORS:
        carried = [p for p in prefixes if rng.random() < 0.7]
        tariffs[f"{connector}-cost"] = {
            "rates": [{"prefix": p, "price": rng.randrange(5_000, 40_000)} for p in carried]
        }
    return {
        "currency": "EUR",
        "connectors": {c: {"cost_tariff": f"{c}-cost"} for c in CONNECTORS},
        "tariffs": tariffs,
        "networks": {p: f"{200 + i % 700:03d}{i % 100:02d}" for i, p in enumerate(prefixes)},
        "mt_routes": routes,
    }


def build_messages(seed: int, config: dict[str, Any], count: int) -> list[MessageFacts]:
    """70% account + prefix matches, 20% pattern routes, 10% least cost."""
    rng = random.Random(seed + 1)
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    routes = config["mt_routes"]
    prefix_routes = [r for r in routes if r["id"].startswith("account-")]
    messages = []
    for _ in range(count):
        draw = rng.random()
        at = now + timedelta(seconds=rng.randrange(86_400))
        if draw < 0.7:
            route = rng.choice(prefix_routes)
            prefix = rng.choice(route["filters"]["destination_prefix"])
            facts = MessageFacts(
                source="BANK",
                destination="+" + _complete(rng, prefix),
                now=at,
                account=rng.choice(route["filters"]["account"]),
                groups=("retail",),
                content="Your balance is low",
            )
        elif draw < 0.9:
            n = rng.randrange(PATTERN_ROUTES)
            facts = MessageFacts(
                source=f"SHOP{n}X",
                destination=_complete(rng, rng.choice(COUNTRY_CODES)),
                now=at,
                account=f"pattern-acct-{n}",
                groups=(f"group-{n}", "retail"),
                content=f"Your code {n}{rng.randrange(10**5)} expires soon",
                tags=("transactional",),
            )
        else:
            facts = MessageFacts(
                source="INFO",
                destination=_complete(rng, rng.choice(COUNTRY_CODES)),
                now=at,
                account="acct-unrouted",
                content="Hello",
            )
        messages.append(facts)
    return messages


def ported_rows(
    seed: int, config: dict[str, Any], messages: list[MessageFacts], count: int
) -> tuple[array[int], array[int], tuple[str, ...]]:
    """``count`` ported numbers under the table's prefixes, on its networks, with the
    destinations of ``PORTED_SHARE`` of ``messages`` among them: the arrays a file
    reader collects (``router.from_arrays``)."""
    rng = random.Random(seed + 2)
    networks = sorted(set(config["networks"].values()))
    prefixes = [int(prefix) for prefix in config["networks"]]
    found = {
        int(facts.destination.removeprefix("+"))
        for facts in messages
        if rng.random() < PORTED_SHARE
    }
    while len(found) < count:
        prefix = rng.choice(prefixes)
        digits = max(0, 11 - len(str(prefix)))
        found.add(prefix * 10**digits + rng.randrange(10**digits))
    numbers = array("q", found)
    codes = array("H", (rng.randrange(len(networks)) for _ in range(len(numbers))))
    return numbers, codes, tuple(networks)


def run(
    seed: int, prefix_count: int, decisions: int, ported_count: int | None = None
) -> dict[str, Any]:
    config_data = build_config(seed, prefix_count)
    started = time.perf_counter_ns()
    config = load_data(config_data)
    loaded = time.perf_counter_ns()
    table = RoutingTable(config, random.Random(seed))
    built = time.perf_counter_ns()
    messages = build_messages(seed, config_data, MESSAGE_MIX)
    rounds = max(1, decisions // len(messages))
    result: dict[str, Any] = {"decisions": rounds * len(messages)}
    result.update(_timed(table, messages, rounds, None))
    result["live_set"] = _timed(table, messages, rounds, LIVE_CONNECTORS)
    outcomes: dict[str, int] = {}
    for facts in messages:
        kind = _outcome(table.decide_mt(facts))
        outcomes[kind] = outcomes.get(kind, 0) + 1
    result.update(
        {
            "config_load_ms": round((loaded - started) / 1e6, 1),
            "table_build_ms": round((built - loaded) / 1e6, 1),
            "table": table.sizes,
            "route_mix": outcomes,
        }
    )
    count = PORTED_PER_PREFIX * prefix_count if ported_count is None else ported_count
    result["portability"] = _portability(seed, table, config_data, messages, rounds, count)
    return result


def _portability(
    seed: int,
    table: RoutingTable,
    config: dict[str, Any],
    messages: list[MessageFacts],
    rounds: int,
    count: int,
) -> dict[str, Any]:
    """The ported table's size and lookup time, and the decision figures with it."""
    rows = ported_rows(seed, config, messages, count)
    started = time.perf_counter_ns()
    ported = from_arrays(*rows)
    built = time.perf_counter_ns()
    destinations = [facts.destination.removeprefix("+") for facts in messages]
    lookup = ported.network_of
    hits = sum(lookup(number) is not None for number in destinations)  # and warms up
    begin = time.perf_counter_ns()
    for _ in range(rounds):
        for number in destinations:
            lookup(number)
    elapsed = time.perf_counter_ns() - begin
    return {
        "ported_numbers": len(ported),
        "bytes_per_entry": round(ported.nbytes / max(1, len(ported)), 2),
        "build_ms": round((built - started) / 1e6, 1),
        "lookup_us": round(elapsed / (rounds * len(destinations)) / 1000, 3),
        "ported_share": round(hits / len(destinations), 3),
        **_timed(table.with_ported(ported), messages, rounds, None),
    }


def digests(seed: int, prefix_count: int, count: int) -> dict[str, str]:
    """Per variant, the digest of ``count`` decisions over the mix on a fresh table."""
    config_data = build_config(seed, prefix_count)
    config = load_data(config_data)
    messages = build_messages(seed, config_data, count)
    return {
        name: decisions_digest(RoutingTable(config, random.Random(seed)), messages, usable)
        for name, usable in (("all_usable", None), ("live_set", LIVE_CONNECTORS))
    }


def decisions_digest(table: RoutingTable, messages: list[MessageFacts], usable: Usable) -> str:
    """SHA-256 of each decision's type and fields, in order.

    Order matters and is kept: weighted draws and round-robin turns depend on
    the decisions before, so the table must be fresh and seeded.
    """
    digest = hashlib.sha256()
    encode = msgspec.json.encode
    for facts in messages:
        decision = table.decide_mt(facts, usable)
        digest.update(type(decision).__name__.encode())
        digest.update(encode(decision))
    return digest.hexdigest()


def _timed(
    table: RoutingTable, messages: list[MessageFacts], rounds: int, usable: Usable
) -> dict[str, Any]:
    """Throughput in a bare loop, then latency percentiles with the clock around each call."""
    decide = table.decide_mt
    for facts in messages * 3:
        decide(facts, usable)
    begin = time.perf_counter_ns()
    for _ in range(rounds):
        for facts in messages:
            decide(facts, usable)
    elapsed = time.perf_counter_ns() - begin
    clock = time.perf_counter_ns
    samples = []
    for _ in range(rounds):
        for facts in messages:
            before = clock()
            decide(facts, usable)
            samples.append(clock() - before)
    samples.sort()
    return {
        "decisions_per_second": round(rounds * len(messages) / (elapsed / 1e9)),
        "p50_us": round(_percentile(samples, 0.50) / 1000, 2),
        "p99_us": round(_percentile(samples, 0.99) / 1000, 2),
        "max_us": round(samples[-1] / 1000, 2),
    }


def _prefixes(rng: random.Random, count: int) -> list[str]:
    found: set[str] = set(COUNTRY_CODES)
    while len(found) < count:
        country = rng.choice(COUNTRY_CODES)
        found.add(country + "".join(rng.choices("0123456789", k=rng.randint(2, 5))))
    return sorted(found - set(COUNTRY_CODES))


def _complete(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices("0123456789", k=max(0, 11 - len(prefix))))


def _target(kind: str, rng: random.Random) -> dict[str, Any]:
    chosen = rng.sample(CONNECTORS, 3)
    if kind == "static":
        return {"kind": "static", "connector": chosen[0]}
    if kind == "weighted":
        return {"kind": "weighted", "weights": {c: rng.randint(1, 5) for c in chosen}}
    return {"kind": kind, "connectors": chosen}


def _outcome(decision: MtDecision) -> str:
    if isinstance(decision, Rejected):
        return "rejected"
    if not isinstance(decision, MtRouted):
        return "no_route"
    if decision.route_id.startswith("account-"):
        return "account_and_prefix"
    if decision.route_id.startswith("pattern-"):
        return "regex_filters"
    return "least_cost" if decision.route_id == "everything-else" else "other"


def _percentile(ordered: list[int], fraction: float) -> int:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.router", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--prefixes", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=300_000)
    parser.add_argument(
        "--ported", type=int, help=f"ported numbers (default: {PORTED_PER_PREFIX} per prefix)"
    )
    parser.add_argument(
        "--digest", action="store_true", help="print the decision digests instead of timing"
    )
    arguments = parser.parse_args()
    if arguments.digest:
        result: dict[str, Any] = digests(arguments.seed, arguments.prefixes, arguments.decisions)
    else:
        result = run(arguments.seed, arguments.prefixes, arguments.decisions, arguments.ported)
    print_report(result, arguments.json)


if __name__ == "__main__":
    main()
