"""Admin endpoints for operator connectors and the shard's live counters."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.admin_edge import (
    AUTH_PROBLEMS,
    admin_endpoint,
    admin_operation,
    decode,
    invalid,
    json,
    path_id,
)
from api.openapi import Operation, Parameter
from engine import Administration, ConnectorConfig, ConnectorView, ShardStats


class ConnectorList(msgspec.Struct, frozen=True):
    connectors: list[ConnectorView]


@admin_endpoint
async def list_connectors(request: Request, admin: Administration) -> Response:
    return json(ConnectorList(admin.connectors()))


@admin_endpoint
async def get_connector(request: Request, admin: Administration) -> Response:
    return json(admin.connector(path_id(request, "connector_id")))


@admin_endpoint
async def put_connector(request: Request, admin: Administration) -> Response:
    """The body is a whole connector (the config file's format), with the path's id."""
    connector_id = path_id(request, "connector_id")
    data = await decode(request, dict[str, Any])
    if data.get("id") != connector_id:
        raise invalid("the body's id must be the path's ($.id)")
    try:
        config = msgspec.convert(data, ConnectorConfig)
    except msgspec.ValidationError as exc:
        raise invalid(str(exc)) from exc
    view, created = await admin.put_connector(config)
    return json(view, 201 if created else 200)


@admin_endpoint
async def start_connector(request: Request, admin: Administration) -> Response:
    return json(await admin.start_connector(path_id(request, "connector_id")))


@admin_endpoint
async def stop_connector(request: Request, admin: Administration) -> Response:
    return json(await admin.stop_connector(path_id(request, "connector_id")))


@admin_endpoint
async def stats(request: Request, admin: Administration) -> Response:
    return json(admin.stats())


_CONNECTOR = "/admin/connectors/{connector_id}"

routes: list[BaseRoute] = [
    Route("/admin/connectors", list_connectors, methods=["GET"]),
    Route(_CONNECTOR, get_connector, methods=["GET"]),
    Route(_CONNECTOR, put_connector, methods=["PUT"]),
    Route(f"{_CONNECTOR}/start", start_connector, methods=["POST"]),
    Route(f"{_CONNECTOR}/stop", stop_connector, methods=["POST"]),
    Route("/admin/stats", stats, methods=["GET"]),
]

_AUTH = AUTH_PROBLEMS
_CONNECTOR_ID = Parameter(name="connector_id", location="path")


def _op(method: str, path: str, summary: str, operation_id: str, **fields: Any) -> Operation:
    return admin_operation("admin: connectors", method, path, summary, operation_id, **fields)


OPERATIONS: list[Operation] = [
    _op(
        "GET",
        "/admin/connectors",
        "Every connector of this shard with its state, queue and counters",
        "adminListConnectors",
        responses={200: ConnectorList, **_AUTH},
    ),
    _op(
        "GET",
        _CONNECTOR,
        "One connector",
        "adminGetConnector",
        parameters=(_CONNECTOR_ID,),
        responses={200: ConnectorView, **_AUTH, 404: "problem"},
    ),
    _op(
        "PUT",
        _CONNECTOR,
        "Create a connector, or change one (it restarts on its own queue)",
        "adminPutConnector",
        request=ConnectorConfig,
        parameters=(_CONNECTOR_ID,),
        responses={200: ConnectorView, 201: ConnectorView, 400: "problem", **_AUTH}
        | {415: "problem"},
    ),
    _op(
        "POST",
        f"{_CONNECTOR}/start",
        "Start a stopped connector",
        "adminStartConnector",
        parameters=(_CONNECTOR_ID,),
        responses={200: ConnectorView, **_AUTH, 404: "problem"},
    ),
    _op(
        "POST",
        f"{_CONNECTOR}/stop",
        "Stop a connector: in-flight responses drain, its queue stays, routing avoids it",
        "adminStopConnector",
        parameters=(_CONNECTOR_ID,),
        responses={200: ConnectorView, **_AUTH, 404: "problem"},
    ),
    _op(
        "GET",
        "/admin/stats",
        "Live counters of this shard: messages, queues, binds, webhooks, ledger batches",
        "adminStats",
        responses={200: ShardStats, **_AUTH},
    ),
]
