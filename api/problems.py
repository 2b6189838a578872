"""Every HTTP error as RFC 9457 problem+json with a stable ``code``.

Clients branch on ``code`` (``no_credit``, ``no_route``...), never on the
wording of ``title`` or ``detail``. Raising `Problem` anywhere in a handler is
how an endpoint refuses; nothing it changed before raising may be left half done.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

PROBLEM_TYPE = "/problems/"
"""Types are references into the gateway's own URL space (RFC 9457 §3.1.1: a
relative reference resolves against the request's URL), not a domain we do
not own; clients compare them, or better ``code``, as strings."""
MEDIA_TYPE = "application/problem+json"

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


class Problem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE + self.code,
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        return body

    def response(self) -> Response:
        return Response(
            orjson.dumps(self.body()),
            status_code=self.status,
            media_type=MEDIA_TYPE,
            headers=self.headers,
        )


_QUOTED_REGEX = re.compile(r"Expected `str` matching regex '.*' - at `(?P<path>[^`]*)`")
_FIELD = re.compile(r"\.([A-Za-z_][\w-]*)")


def pattern_words(kind: Any) -> dict[str, str]:
    """Field name -> the description of its pattern, from ``kind``'s JSON schema:
    what `readable` says instead of the regex."""
    _, components = msgspec.json.schema_components([kind])
    words: dict[str, str] = {}

    def walk(node: Any, name: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, name)
        elif isinstance(node, dict):
            if name and "pattern" in node and "description" in node:
                words.setdefault(name, node["description"].rstrip("."))
            for key, value in node.items():
                if key == "properties":
                    for field, schema in value.items():
                        walk(schema, field)
                elif key in ("anyOf", "items", "additionalProperties"):
                    walk(value, name)

    walk(list(components.values()), None)
    return words


def readable(message: str, words: dict[str, str]) -> str:
    """msgspec's decode error with the regex it quotes (our internals, and no
    help to a caller) replaced by what the field expects."""
    found = _QUOTED_REGEX.fullmatch(message)
    if found is None:
        return message
    path = found["path"]
    fields = _FIELD.findall(path)
    expected = words.get(fields[-1]) if fields else None
    if expected is None:
        return f"{path}: expected a string of the form /docs describes"
    return f"{path}: expected {expected[:1].lower()}{expected[1:]}"


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response()


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return Problem(exc.status_code, code, str(exc.detail), headers=exc.headers).response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    return Problem(500, "internal_error", "Internal error").response()


HANDLERS = {Problem: _problem, HTTPException: _http_exception, Exception: _unexpected}
