"""Route filters, compiled from config, and the message view they test.

A route matches when each of its ``filters`` matches and none of its ``unless``
filters does (negation). Every filter can test one message by itself, which is
what ``explain`` shows an operator; the table answers the set-like ones
(account, group, connector, prefix, network, data_coding, priority, tag) for
all routes at once through ``router.index`` and only runs the others (regular
expressions, dates, times of day) on routes that are still candidates.

Regular expressions use ``re.search``: anchor them with ``^`` and ``$`` to test
a whole address.
"""

import dataclasses
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from operator import attrgetter
from typing import Any

import msgspec

from router.destinations import DestinationInfo
from router.facts import MessageFacts
from router.plans import Pricing


class PreparedMessage(msgspec.Struct, frozen=True, gc=False):
    """The facts with what the table derives from them once per decision.

    ``destination`` is in international form; ``info`` is what its prefixes
    say (network, route masks); ``pricing`` is what prices the account's
    messages at the message's time ahead of the route's tariff (a plan, its own
    tariff). A decision builds one only for a route that tests filters itself;
    a Struct because its constructor runs in C.
    """

    facts: MessageFacts
    destination: str
    info: DestinationInfo
    pricing: Pricing


VALUE_FIELDS: dict[str, tuple[str, str, bool]] = {
    "account": ("facts", "account", False),
    "account_group": ("facts", "groups", True),
    "connector": ("facts", "connector", False),
    "destination_network": ("info", "network", False),
    "data_coding": ("facts", "data_coding", False),
    "priority": ("facts", "priority", False),
    "tag": ("facts", "tags", True),
}
"""Per set-like field: the message attribute holding it (``facts`` or ``info``), the
attribute of that, and whether it holds several values (a tuple)."""

VALUE_READERS: dict[str, Callable[[PreparedMessage], Any]] = {
    field: attrgetter(f"{owner}.{name}") for field, (owner, name, _) in VALUE_FIELDS.items()
}


def values_of(field: str, message: PreparedMessage) -> tuple[object, ...]:
    value = VALUE_READERS[field](message)
    return tuple(value) if VALUE_FIELDS[field][2] else (value,)


SOURCE_MEMO_LIMIT = 4096
"""Sender ids a ``source`` pattern remembers its answer for before it starts over."""

TEXT_READERS: dict[str, Callable[[PreparedMessage], str]] = {
    "source": attrgetter("facts.source"),
    "destination": attrgetter("destination"),
    "content": attrgetter("facts.content"),
}


@dataclass(frozen=True, slots=True)
class ValueFilter:
    """Matches when the message has at least one of ``values`` for ``field``."""

    field: str
    values: frozenset[object]

    def matches(self, message: PreparedMessage) -> bool:
        return not self.values.isdisjoint(values_of(self.field, message))

    def summary(self) -> str:
        return f"one of {_listing(self.values)}"

    def observed(self, message: PreparedMessage) -> str:
        seen = values_of(self.field, message)
        if VALUE_FIELDS[self.field][2]:
            return f"{self.field} is {_listing(seen)}" if seen else f"{self.field} is empty"
        if self.field == "destination_network" and not seen[0]:
            return "destination is in no network of the numbering plan"
        return f"{self.field} is {seen[0]!r}"


@dataclass(frozen=True, slots=True)
class PrefixFilter:
    """Matches when the international destination starts with one of ``prefixes``."""

    prefixes: tuple[str, ...]
    field: str = "destination_prefix"

    def matches(self, message: PreparedMessage) -> bool:
        return message.destination.startswith(self.prefixes)

    def summary(self) -> str:
        return f"a prefix among {_listing(self.prefixes)}"

    def observed(self, message: PreparedMessage) -> str:
        return f"destination is {message.destination!r}"


@dataclass(frozen=True, slots=True)
class PatternFilter:
    """Matches when ``pattern`` is found in the ``field`` text (``re.search``).

    Sender ids repeat from one message to the next, so a ``source`` pattern
    remembers its answer per sender id (bounded); destinations and texts rarely
    repeat and are searched each time.
    """

    field: str
    pattern: re.Pattern[str]
    read: Callable[[PreparedMessage], str] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    _answers: dict[str, bool] | None = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "read", TEXT_READERS[self.field])
        object.__setattr__(self, "_answers", {} if self.field == "source" else None)

    def matches(self, message: PreparedMessage) -> bool:
        text = self.read(message)
        answers = self._answers
        if answers is None:
            return self.pattern.search(text) is not None
        found = answers.get(text)
        if found is None:
            if len(answers) >= SOURCE_MEMO_LIMIT:
                answers.clear()
            found = answers[text] = self.pattern.search(text) is not None
        return found

    def summary(self) -> str:
        return f"a match for /{self.pattern.pattern}/"

    def observed(self, message: PreparedMessage) -> str:
        text = self.read(message)
        shown = text if len(text) <= 40 else text[:37] + "..."
        return f"{self.field} is {shown!r}"


@dataclass(frozen=True, slots=True)
class DateFilter:
    """Matches from ``start`` (inclusive) until ``end`` (exclusive), POSIX timestamps.

    The filter turns the message's datetime into a timestamp itself: few routes
    test dates, and doing it for every prepared message was 2% of a decision's
    instructions on the router benchmark.
    """

    start: float
    end: float
    field: str = "date"

    def matches(self, message: PreparedMessage) -> bool:
        return self.start <= message.facts.now.timestamp() < self.end

    def summary(self) -> str:
        bounds = []
        if self.start != -math.inf:
            bounds.append(f"from {datetime.fromtimestamp(self.start, UTC).isoformat()}")
        if self.end != math.inf:
            bounds.append(f"until {datetime.fromtimestamp(self.end, UTC).isoformat()}")
        return "a time " + " ".join(bounds)

    def observed(self, message: PreparedMessage) -> str:
        return f"now is {message.facts.now.isoformat()}"


@dataclass(frozen=True, slots=True)
class TimeOfDayFilter:
    """Matches local times from ``start`` until ``end`` on ``weekdays`` (0 is Monday).

    A window whose end is not after its start wraps midnight (22:00 to 06:00).
    The weekday is that of the local date of the instant tested.
    """

    start: time
    end: time
    zone: tzinfo
    weekdays: frozenset[int]
    field: str = "time_of_day"

    def matches(self, message: PreparedMessage) -> bool:
        local = message.facts.now.astimezone(self.zone)
        if local.weekday() not in self.weekdays:
            return False
        clock = local.time()
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def summary(self) -> str:
        window = f"{self.start.isoformat()}-{self.end.isoformat()} {self.zone}"
        if len(self.weekdays) == len(_WEEKDAY_NAMES):
            return window
        return window + " on " + ",".join(_WEEKDAY_NAMES[day] for day in sorted(self.weekdays))

    def observed(self, message: PreparedMessage) -> str:
        local = message.facts.now.astimezone(self.zone)
        return f"local time is {_WEEKDAY_NAMES[local.weekday()]} {local.time().isoformat()}"


Filter = ValueFilter | PrefixFilter | PatternFilter | DateFilter | TimeOfDayFilter

_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NUMBERS = {name: number for number, name in enumerate(_WEEKDAY_NAMES)}


def _listing(values: Iterable[object]) -> str:
    items = sorted(repr(value) for value in values)
    if len(items) > 5:
        items = [*items[:5], f"... ({len(items)} in all)"]
    return "[" + ", ".join(items) + "]"
