"""Protection of recipients and of the platform: opt-out lists (docs/optout.md)
and the fraud guard (docs/fraud.md)."""

from starlette.routing import BaseRoute

from api.openapi import Operation
from api.protection import fraud, optout

routes: list[BaseRoute] = [*optout.routes, *fraud.routes]
OPERATIONS: list[Operation] = [*optout.OPERATIONS, *fraud.OPERATIONS]
