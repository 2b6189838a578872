"""The platform features behind the web console (issue 19): sender IDs,
message templates and resellers, each with its admin and v1 operations.
Each module adds its ``routes`` and ``OPERATIONS`` here."""

from starlette.routing import BaseRoute

from api.openapi import Operation
from api.platform import resellers, senders, templates

routes: list[BaseRoute] = []
OPERATIONS: list[Operation] = []

routes += templates.routes
OPERATIONS += templates.OPERATIONS
routes += resellers.routes
OPERATIONS += resellers.OPERATIONS
routes += senders.routes
OPERATIONS += senders.OPERATIONS
