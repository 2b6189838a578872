"""The billing endpoints: exchange rates, invoices and CDRs (docs/billing.md)."""

from starlette.routing import BaseRoute

from api.billing import cdrs, invoices, rates
from api.openapi import Operation

routes: list[BaseRoute] = [*rates.routes, *invoices.routes, *cdrs.routes]
OPERATIONS: list[Operation] = [*rates.OPERATIONS, *invoices.OPERATIONS, *cdrs.OPERATIONS]
