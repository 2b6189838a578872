"""Protection of recipients and of the platform: opt-out lists (docs/optout.md)."""

from starlette.routing import BaseRoute

from api.openapi import Operation
from api.protection import optout

routes: list[BaseRoute] = [*optout.routes]
OPERATIONS: list[Operation] = [*optout.OPERATIONS]
