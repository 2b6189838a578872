"""What every admin endpoint does first: check the admin key, decode the body,
and turn the engine's refusals into problems."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import msgspec
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from api.auth import check_admin_key
from api.openapi import Operation
from api.problems import Problem, pattern_words, readable
from engine import ACTOR_HEADER, Administration, AdminRefused, Engine, acting_as, requested_actor

T = TypeVar("T")

Reason = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$(?!\n)",
        description="1 to 200 characters, no control characters.",
    ),
]
"""Why an admin moved money (an adjustment, a credit note): kept with it."""

_STATUS_OF_REFUSAL = {
    "unknown_account": (404, "No such account"),
    "unknown_connector": (404, "No such connector"),
    "account_exists": (409, "The account exists"),
    "invalid_webhook_url": (422, "Invalid webhook URL"),
    "invalid_allowed_ips": (422, "Invalid IP allow-list"),
    "invalid_account_settings": (422, "Invalid account settings"),
    "reserved_reference": (422, "Reserved reference prefix"),
}
_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


async def admin_of(request: Request) -> Administration:
    """The shard's administration, once the caller has shown the admin key:
    no key is a 401, another key (an account's, a wrong one) a 403, a source
    locked out after failures a 429 (`api.auth.check_admin_key`)."""
    await check_admin_key(request)
    return engine_of(request).admin


def path_id(request: Request, name: str) -> str:
    """A path parameter naming an account, connector or key; one that cannot
    name anything is a 404 like an unknown one."""
    value: str = request.path_params[name]
    if not _ID.fullmatch(value):
        raise Problem(404, f"unknown_{name.removesuffix('_id')}", "Not found", value[:80])
    return value


def json_body(body: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:  # worded without our regexes (on refusal only)
        raise invalid(readable(str(exc), pattern_words(kind))) from exc


def check_json(request: Request) -> None:
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(415, "unsupported_media_type", "Send application/json", media_type)


async def decode(request: Request, kind: type[T]) -> T:
    check_json(request)
    return json_body(await request.body(), kind)


def invalid(detail: str) -> Problem:
    return Problem(400, "invalid_request", "Invalid request", detail)


def refused(exc: AdminRefused) -> Problem:
    status, title = _STATUS_OF_REFUSAL.get(exc.code, (409, "Refused"))
    return Problem(status, exc.code, title, exc.detail)


def unavailable(exc: Exception) -> Problem:
    """Redis (ledger, key store, pub/sub) did not answer."""
    return Problem(503, "ledger_unavailable", "The ledger does not answer", str(exc))


def json(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


Handler = Callable[[Request, Administration], Awaitable[Response]]


def admin_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint that checks the admin key, then runs ``handler``
    (its changes audited as the request's actor); an engine refusal becomes
    its problem, a Redis failure a 503."""

    async def endpoint(request: Request) -> Response:
        admin = await admin_of(request)
        try:
            with acting_as(requested_actor(request.headers.get(ACTOR_HEADER))):
                return await handler(request, admin)
        except AdminRefused as exc:
            raise refused(exc) from exc
        except RedisError as exc:
            raise unavailable(exc) from exc

    return endpoint


AUTH_PROBLEMS = {401: "problem", 403: "problem"}


def admin_operation(
    tag: str, method: str, path: str, summary: str, operation_id: str, **fields: Any
) -> Operation:
    """An OpenAPI operation of the admin API (admin key, its tag)."""
    return Operation(
        method=method,
        path=path,
        summary=summary,
        tag=tag,
        operation_id=operation_id,
        security="admin",
        **fields,
    )
