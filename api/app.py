"""The Starlette app of one shard: customer v1, Jasmin-compatible, admin and ops routes.

It holds nothing but the `engine.facade.Engine` it is given (``app.state.engine``):
every module reaches the shard through that one facade.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from api import admin, jasmin, ops, v1, v1_messages
from api.limits import BodyLimit
from api.openapi import Operation
from api.problems import HANDLERS
from engine.facade import Engine

OPERATIONS: list[Operation] = [
    *v1.OPERATIONS,
    *v1_messages.OPERATIONS,
    *jasmin.OPERATIONS,
    *admin.OPERATIONS,
    *ops.OPERATIONS,
]


def create_app(engine: Engine) -> Starlette:
    limits = engine.gateway.config.api
    app = Starlette(
        routes=[*ops.routes, *v1.routes, *v1_messages.routes, *jasmin.routes, *admin.routes],
        middleware=[Middleware(BodyLimit, max_body_bytes=limits.max_body_bytes)],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
    )
    app.state.engine = engine
    app.state.idempotency = engine.idempotency
    app.state.openapi = ops.openapi_document(OPERATIONS)
    return app
