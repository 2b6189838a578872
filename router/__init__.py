"""In-process MT and MO routing tables: filters, targets, prefix lookup, tariffs, plans, LCR.

Build a table from configuration, ask it for decisions, swap it whole to reload::

    table = RoutingTable(load_toml_file("routing.toml"))
    decision = table.decide_mt(MessageFacts(...), usable=bound_connectors)
    table = table.with_ported(ported_numbers([("33612345678", "20810")]))
"""

from router.config import load_data, load_toml, load_toml_file
from router.decisions import (
    NO_ROUTE,
    MoDecision,
    MoRouted,
    MtDecision,
    MtRouted,
    NoRoute,
    Rejected,
)
from router.explain import Explanation, RouteTrace, explain_mo, explain_mt
from router.facts import MessageFacts, PriorityClass
from router.plans import PlanView, Tier
from router.portability import (
    NO_PORTED,
    PortedNumbers,
    RepeatedNumbers,
    from_arrays,
    ported_numbers,
)
from router.schema import RoutingConfig
from router.table import RoutingTable
from router.targets import Usable
from router.tariffs import MICRO_UNITS
from router.validation import ConfigIssue, RoutingConfigError

__all__ = [
    "MICRO_UNITS",
    "NO_PORTED",
    "NO_ROUTE",
    "ConfigIssue",
    "Explanation",
    "MessageFacts",
    "MoDecision",
    "MoRouted",
    "MtDecision",
    "MtRouted",
    "NoRoute",
    "PlanView",
    "PortedNumbers",
    "PriorityClass",
    "Rejected",
    "RepeatedNumbers",
    "RouteTrace",
    "RoutingConfig",
    "RoutingConfigError",
    "RoutingTable",
    "Tier",
    "Usable",
    "explain_mo",
    "explain_mt",
    "from_arrays",
    "load_data",
    "load_toml",
    "load_toml_file",
    "ported_numbers",
]
