"""What operators and orchestrators call: liveness, readiness, metrics, the API description."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import msgspec
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.openapi import Operation, document
from api.problems import Problem
from engine import Engine


class Health(msgspec.Struct, frozen=True):
    status: str


class Ready(msgspec.Struct, frozen=True):
    ready: bool
    checks: dict[str, dict[str, Any]]
    """Per dependency (redis, database, persister with its ``lag``) and the
    connectors (``bound``: live binds of each), each with ``ok``."""
    live_connectors: list[str]


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _json(value: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


async def health(request: Request) -> Response:
    """Liveness: the process answers. Never touches a backend."""
    return _json(Health("ok"))


async def ready(request: Request) -> Response:
    """Readiness: every backend answers and at least one connector is bound;
    each check is reported either way, so a 503 says which one is down."""
    engine = _engine(request)
    checks = await engine.ready()
    down = [f"{name}: {check.get('error')}" for name, check in checks.items() if not check["ok"]]
    if down:
        raise Problem(503, "not_ready", "Not ready", "; ".join(down), checks=checks)
    return _json(Ready(True, checks, engine.live_connectors()))


async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(_engine(request).gateway.registry), media_type=CONTENT_TYPE_LATEST
    )


def openapi_document(operations: list[Operation]) -> dict[str, object]:
    try:
        release = version("smsgw")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        release = "0"
    return document(operations, title="smsgw", version=release)


async def openapi(request: Request) -> Response:
    return Response(orjson.dumps(request.app.state.openapi), media_type="application/json")


routes: list[BaseRoute] = [
    Route("/health", health, methods=["GET"]),
    Route("/ready", ready, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
]

OPERATIONS: list[Operation] = [
    Operation(
        method="GET",
        path="/health",
        summary="Liveness: the process answers",
        tag="ops",
        operation_id="health",
        security=None,
        responses={200: Health},
    ),
    Operation(
        method="GET",
        path="/ready",
        summary="Readiness: each backend, the persister's lag and the connectors' binds",
        tag="ops",
        operation_id="ready",
        security=None,
        responses={200: Ready, 503: "problem"},
    ),
    Operation(
        method="GET",
        path="/metrics",
        summary="Prometheus metrics",
        tag="ops",
        operation_id="metrics",
        security=None,
        responses={200: "text/plain"},
    ),
]
