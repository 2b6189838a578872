"""The OpenAPI 3.1 document, built from the same msgspec types that validate requests.

Each API module lists its `Operation`s next to its routes; the document is
assembled from them, so a route cannot change shape without its description.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Parameter(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    location: str = "query"
    """``query``, ``path`` or ``header``."""
    required: bool = False
    schema: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "string"})
    description: str = ""


class Operation(msgspec.Struct, frozen=True, kw_only=True):
    method: str
    path: str
    summary: str
    tag: str
    operation_id: str
    security: str | None = "bearer"
    """``bearer`` (an account's API key), ``admin``, or None."""
    request: Any = None
    """A msgspec type for a JSON body, or None."""
    form: dict[str, Any] | None = None
    """A JSON schema for a form / query body (Jasmin), instead of ``request``."""
    parameters: tuple[Parameter, ...] = ()
    responses: dict[int, Any] = msgspec.field(default_factory=dict)
    """Status -> msgspec type of the JSON body, ``"problem"`` (problem+json),
    another media type string (a text body), or None (no body)."""


_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An account's API key."},
    "admin": {"type": "http", "scheme": "bearer", "description": "The admin key."},
}


def document(operations: list[Operation], *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``; JSON schemas come from msgspec."""
    types = [op.request for op in operations if op.request is not None]
    types += [
        kind
        for op in operations
        for kind in op.responses.values()
        if kind is not None and not isinstance(kind, str)
    ]
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    schema_of = dict(zip(map(id, types), schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "responses": {
                str(status): _response(kind, schema_of) for status, kind in op.responses.items()
            },
        }
        if op.security is not None:
            entry["security"] = [{op.security: []}]
        if op.parameters:
            entry["parameters"] = [
                {
                    "name": param.name,
                    "in": param.location,
                    "required": param.required or param.location == "path",
                    "schema": param.schema,
                    **({"description": param.description} if param.description else {}),
                }
                for param in op.parameters
            ]
        if op.request is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema_of[id(op.request)]}},
            }
        elif op.form is not None and op.method.upper() != "GET":
            entry["requestBody"] = {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": op.form}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    components["Problem"] = _PROBLEM_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": _SECURITY_SCHEMES},
    }


_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; branch on `code`.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
    },
}


def _response(kind: Any, schema_of: dict[int, Any]) -> dict[str, Any]:
    if kind is None:
        return {"description": "No body."}
    if isinstance(kind, str):
        if kind == "problem":
            return {
                "description": "A problem.",
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
        return {"description": kind, "content": {kind: {"schema": {"type": "string"}}}}
    return {
        "description": getattr(kind, "__name__", "Result"),
        "content": {"application/json": {"schema": schema_of[id(kind)]}},
    }
