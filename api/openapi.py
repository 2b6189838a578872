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
    """Status -> msgspec type of the JSON body, a media type string, or None."""
