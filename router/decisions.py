"""What the router answers.

Money is an integer number of micro-units of its currency: one millionth of the
major unit, whatever the currency's usual minor unit (1 EUR = 1_000_000), so a
price like 0.0045 EUR per part is exact. Each amount comes with its currency,
that of the tariff it was read from (ISO 4217); the router never converts, the
engine does at the rate of the day. Prices are per message part; the engine
multiplies by the number of parts it counted.
"""

import msgspec


class MtRouted(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An MT message goes to ``connectors``, tried in this order.

    ``destination`` is the number in international form, as matched and priced;
    ``network`` is the MCC+MNC of the network a ported number is on now
    (``router.portability``), else of its longest numbering-plan prefix, or ``""``;
    ``country`` its ISO 3166-1 alpha-2 country (``router.calling_codes``), or ``""``.
    ``sell_per_part`` is the list price, in ``currency``: that of the plan's
    tariff when a plan priced it (``plan_id``, else ``""``), else of the
    account's or the route's sell tariff; the account's discount and currency
    are the engine's. ``cost_per_part`` is what the first connector charges us,
    in ``cost_currency``, or None when its cost tariff has no rate for the
    destination (``cost_currency`` is then the table's); the engine asks
    ``RoutingTable.cost_per_part`` and ``cost_currency`` for the others when it
    fails over.
    """

    route_id: str
    connectors: tuple[str, ...]
    destination: str
    network: str
    sell_per_part: int
    cost_per_part: int | None
    currency: str
    plan_id: str
    cost_currency: str
    country: str


class MoRouted(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An MO message goes to ``accounts``, tried in this order.

    Whether an account takes it on an SMPP receiver bind or on its HTTP callback
    is the account's setting, which the engine owns.
    """

    route_id: str
    accounts: tuple[str, ...]


class Rejected(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A reject route matched: answer with ``command_status`` (SMPP 3.4 §5.1.3)."""

    route_id: str
    command_status: int
    reason: str


class NoRoute(msgspec.Struct, frozen=True, gc=False):
    """No route applied; the engine answers ESME_RINVDSTADR (0x0000000B)."""


NO_ROUTE = NoRoute()

MtDecision = MtRouted | Rejected | NoRoute
MoDecision = MoRouted | Rejected | NoRoute
