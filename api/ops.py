"""What operators and orchestrators call: liveness, readiness, metrics, the API description."""

from __future__ import annotations

import html
from importlib.metadata import PackageNotFoundError, version

import msgspec
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from api.openapi import Operation, document
from api.problems import Problem
from engine import Engine


class Health(msgspec.Struct, frozen=True):
    status: str


class Ready(msgspec.Struct, frozen=True):
    ready: bool
    live_connectors: list[str]


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _json(value: object, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


async def health(request: Request) -> Response:
    """Liveness: the process answers. Never touches a backend."""
    return _json(Health("ok"))


async def ready(request: Request) -> Response:
    """Readiness: Redis/PostgreSQL answer and at least one connector is bound."""
    engine = _engine(request)
    problems = await engine.ready()
    if problems:
        raise Problem(503, "not_ready", "Not ready", "; ".join(problems.values()), checks=problems)
    return _json(Ready(True, engine.live_connectors()))


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


async def docs(request: Request) -> Response:
    """A plain page listing every operation (no script, works offline); any
    OpenAPI viewer can be pointed at /openapi.json for more."""
    spec = request.app.state.openapi
    rows = []
    for path, methods in spec["paths"].items():
        for method, entry in methods.items():
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code>"
                f"</td><td>{html.escape(entry['summary'])}</td>"
                f"<td>{html.escape(', '.join(entry.get('tags', [])))}</td></tr>"
            )
    page = (
        "<!doctype html><meta charset=utf-8><title>smsgw API</title>"
        "<h1>smsgw HTTP API</h1><p>Machine-readable: <a href=/openapi.json>/openapi.json</a>."
        " Errors are <code>application/problem+json</code> with a stable <code>code</code>.</p>"
        "<table border=1 cellpadding=4><tr><th>method<th>path<th>what<th>part</tr>"
        + "".join(rows)
        + "</table>"
    )
    return HTMLResponse(page)


routes: list[BaseRoute] = [
    Route("/health", health, methods=["GET"]),
    Route("/ready", ready, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/docs", docs, methods=["GET"]),
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
        summary="Readiness: backends answer and a connector is bound",
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
