"""In-process MT and MO routing tables: filters, targets, prefix lookup, tariffs, plans, LCR.

Build a table from configuration, ask it for decisions, swap it whole to reload::

    table = RoutingTable(load_toml_file("routing.toml"))
    decision = table.decide_mt(MessageFacts(...), usable=bound_connectors)
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
from router.schema import RoutingConfig
from router.table import RoutingTable
from router.targets import Usable
from router.tariffs import MICRO_UNITS
from router.validation import ConfigIssue, RoutingConfigError

__all__ = [
    "MICRO_UNITS",
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
    "PriorityClass",
    "Rejected",
    "RouteTrace",
    "RoutingConfig",
    "RoutingConfigError",
    "RoutingTable",
    "Tier",
    "Usable",
    "explain_mo",
    "explain_mt",
    "load_data",
    "load_toml",
    "load_toml_file",
]
