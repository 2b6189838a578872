"""The Starlette app of one shard: customer v1, Jasmin-compatible, admin and ops routes.

It holds nothing but the `engine.facade.Engine` it is given (``app.state.engine``):
every module reaches the shard through that one facade.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import admin, billing, console, docs, jasmin, ops, platform, protection
from api.limits import BodyLimit
from api.openapi import Operation
from api.problems import HANDLERS
from api.v1 import messages as v1_messages
from api.v1 import send as v1_send
from api.v1 import verify as v1_verify
from engine import Engine

OPERATIONS: list[Operation] = [
    *v1_send.OPERATIONS,
    *v1_messages.OPERATIONS,
    *v1_verify.OPERATIONS,
    *jasmin.OPERATIONS,
    *admin.OPERATIONS,
    *billing.OPERATIONS,
    *protection.OPERATIONS,
    *platform.OPERATIONS,
    *ops.OPERATIONS,
]


def one_route_per_path(routes: list[BaseRoute]) -> list[BaseRoute]:
    """Modules may serve different methods of one path (POST and GET
    /v1/messages); Starlette's 405 lists only the first route's methods, so
    such routes are merged into one that dispatches on the method."""
    by_path: dict[str, list[Route]] = {}
    merged: list[BaseRoute] = []
    for route in routes:
        if isinstance(route, Route):
            if route.path not in by_path:
                by_path[route.path] = []
                merged.append(route)
            by_path[route.path].append(route)
        else:
            merged.append(route)
    for i, route in enumerate(merged):
        same = by_path.get(route.path) if isinstance(route, Route) else None
        if same and len(same) > 1:
            handlers = {m: r.endpoint for r in same for m in r.methods or ()}

            async def dispatch(request: Request, handlers: dict = handlers) -> Response:
                return await handlers[request.method](request)

            merged[i] = Route(route.path, dispatch, methods=list(handlers))
    return merged


def create_app(engine: Engine) -> Starlette:
    limits = engine.gateway.config.api
    app = Starlette(
        routes=one_route_per_path(
            # Starlette tries routes in order: the sending ones first.
            [
                *v1_send.routes,
                *jasmin.routes,
                *v1_messages.routes,
                *v1_verify.routes,
                *ops.routes,
                *docs.routes(),
                *admin.routes,
                *billing.routes,
                *protection.routes,
                *platform.routes,
                *(console.routes if engine.console is not None else []),
            ]
        ),
        middleware=[Middleware(BodyLimit, max_body_bytes=limits.max_body_bytes)],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
    )
    app.state.engine = engine
    app.state.stopping = False
    """Set by `api.server.HttpFront.stop`: long answers (event streams) end."""
    app.state.idempotency = engine.idempotency
    app.state.openapi = ops.openapi_document(OPERATIONS)
    return app
