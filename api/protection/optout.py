"""Opt-out lists over HTTP (docs/optout.md): the admin's, any list; a customer's, its own.

- ``/admin/opt-outs`` GET ``?account=`` (absent: the global list): the list
  as CSV (``number,added_at,source``), streamed from the store.
- ``/admin/opt-outs/import`` POST ``?account=``: a ``text/csv`` body (UTF-8)
  with a ``number`` column (``engine.optout.csvfile``); a bad row refuses the
  file, 422 ``invalid_opt_outs`` listing each issue by line, nothing added.
- ``/admin/opt-outs/{number}`` POST, DELETE ``?account=``: one number.
- ``/v1/opt-outs`` GET (the account's list as CSV), POST (JSON
  ``{"numbers": [...]}``, at most 1,000); ``/v1/opt-outs/{number}`` DELETE:
  a number that opted out by text (a stop keyword) stays, 409
  ``opted_out_by_recipient``: only the admin may take it off.

Numbers are international (E.164, an optional ``+``); another is a 422
``invalid_number``. Adding answers 201 when something was new, else 200;
removing one not listed is a 404 ``not_opted_out``. Every shard applies a
change within a moment (`engine.optout.service`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from redis.exceptions import RedisError
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from api.admin_edge import (
    AUTH_PROBLEMS,
    admin_endpoint,
    admin_operation,
    check_json,
    engine_of,
    invalid,
    json,
    json_body,
)
from api.auth import account_of
from api.openapi import Operation, Parameter
from api.problems import Problem
from engine import Administration, BadNumber, OptOut, OptOutIssues, check_number

MAX_NUMBERS = 1_000
_CSV = "text/csv; charset=utf-8"


class NumbersToAdd(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    numbers: Annotated[
        list[str],
        Meta(min_length=1, max_length=MAX_NUMBERS, description="International numbers."),
    ]


class OptOutsAdded(msgspec.Struct, frozen=True, kw_only=True):
    added: int
    """Numbers new to the list."""
    unchanged: int
    """Numbers listed already (they keep the date they were first listed)."""


def _optout(request: Request) -> OptOut:
    """The shard's lists: ``Engine.protection.optout``."""
    optout: OptOut | None = engine_of(request).protection.optout
    if optout is None:
        raise Problem(503, "optout_unavailable", "No opt-out lists", "not set up on this shard")
    return optout


def _number(request: Request) -> str:
    given: str = request.path_params["number"]
    try:
        return check_number(given)
    except BadNumber as exc:
        raise Problem(422, "invalid_number", "Not an international number", str(exc)) from exc


def _admin_list(request: Request) -> str | None:
    """``?account=``: that account's list (404 when unknown here); absent, the global list."""
    unknown = set(request.query_params) - {"account"}
    if unknown:
        raise invalid(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    account = request.query_params.get("account")
    if account is not None and engine_of(request).account(account) is None:
        raise Problem(404, "unknown_account", "No such account", account[:80])
    return account


def _target(account: str | None) -> str:
    return "global" if account is None else account


def _added(new: int, given: int) -> Response:
    return json(OptOutsAdded(added=new, unchanged=given - new), 201 if new else 200)


def _refused(issues: tuple[str, ...] | list[str]) -> Problem:
    title = "Invalid opt-out numbers"
    return Problem(422, "invalid_opt_outs", title, f"{len(issues)} issue(s)", issues=list(issues))


def _unavailable(exc: Exception) -> Problem:
    return Problem(503, "opt_outs_unavailable", "The opt-out lists do not answer", str(exc))


async def _export(optout: OptOut, account: str | None) -> Response:
    """The header and the first slice are read before the status is sent: a
    store that does not answer is a 503, not a truncated 200."""
    chunks = optout.export(account)
    try:
        first = await anext(chunks) + await anext(chunks, "")
    except RedisError as exc:
        raise _unavailable(exc) from exc
    name = f"opt-outs-{_target(account)}.csv"
    return StreamingResponse(
        _body(first, chunks),
        media_type=_CSV,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _body(first: str, rest: AsyncIterator[str]) -> AsyncIterator[bytes]:
    yield first.encode()
    async for chunk in rest:
        yield chunk.encode()


# -- admin -----------------------------------------------------------------------


@admin_endpoint
async def admin_export(request: Request, admin: Administration) -> Response:
    return await _export(_optout(request), _admin_list(request))


@admin_endpoint
async def admin_import(request: Request, admin: Administration) -> Response:
    account = _admin_list(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/csv":
        raise Problem(415, "unsupported_media_type", "Send text/csv", media_type)
    try:
        text = (await request.body()).decode()
    except UnicodeDecodeError as exc:
        raise invalid(f"the file is not UTF-8: {exc}") from exc
    try:
        new, rows = await _optout(request).import_csv(account, text)
    except OptOutIssues as exc:
        raise _refused(exc.issues) from exc
    await admin.audit.record("opt_outs.import", _target(account), rows=rows, added=new)
    return _added(new, rows)


@admin_endpoint
async def admin_add(request: Request, admin: Administration) -> Response:
    account, number = _admin_list(request), _number(request)
    new = await _optout(request).add(account, [number], "admin")
    await admin.audit.record("opt_out.add", _target(account), number=number)
    return _added(len(new), 1)


@admin_endpoint
async def admin_remove(request: Request, admin: Administration) -> Response:
    account, number = _admin_list(request), _number(request)
    if not await _optout(request).remove(account, [number]):
        raise Problem(404, "not_opted_out", "Not on the list", number)
    await admin.audit.record("opt_out.remove", _target(account), number=number)
    return Response(status_code=204)


# -- the customer's own list ---------------------------------------------------------


async def customer_export(request: Request) -> Response:
    account = await account_of(request)
    return await _export(_optout(request), account.id)


async def customer_add(request: Request) -> Response:
    account = await account_of(request)
    check_json(request)
    given = json_body(await request.body(), NumbersToAdd).numbers
    numbers, issues = [], []
    for index, number in enumerate(given):
        try:
            numbers.append(check_number(number, f"$.numbers[{index}]"))
        except BadNumber as exc:
            issues.append(str(exc))
    if issues:
        raise _refused(issues)
    unique = list(dict.fromkeys(numbers))
    try:
        new = await _optout(request).add(account.id, unique, "api")
    except RedisError as exc:
        raise _unavailable(exc) from exc
    return _added(len(new), len(unique))


async def customer_remove(request: Request) -> Response:
    account = await account_of(request)
    number = _number(request)
    optout = _optout(request)
    try:
        entry = await optout.entry(account.id, number)
        if entry is None:
            raise Problem(404, "not_opted_out", "Not on the list", number)
        if entry.source == "mo":
            title = "The recipient opted out by text"
            detail = f"{number} sent a stop keyword: only the recipient or the admin can undo it"
            raise Problem(409, "opted_out_by_recipient", title, detail)
        await optout.remove(account.id, [number])
    except RedisError as exc:
        raise _unavailable(exc) from exc
    return Response(status_code=204)


class _Listed(StringConvertor):
    """A listed number's path segment: anything but ``import``, so another
    method on /admin/opt-outs/import is 405 there, not a number's 404."""

    regex = "(?!import$)[^/]+"


register_url_convertor("listed", _Listed())

_ADMIN = "/admin/opt-outs"
_V1 = "/v1/opt-outs"

routes: list[BaseRoute] = [
    Route(_ADMIN, admin_export, methods=["GET"]),
    Route(f"{_ADMIN}/import", admin_import, methods=["POST"]),
    Route(f"{_ADMIN}/{{number:listed}}", admin_add, methods=["POST"]),
    Route(f"{_ADMIN}/{{number:listed}}", admin_remove, methods=["DELETE"]),
    Route(_V1, customer_export, methods=["GET"]),
    Route(_V1, customer_add, methods=["POST"]),
    Route(f"{_V1}/{{number}}", customer_remove, methods=["DELETE"]),
]

_ACCOUNT = Parameter(name="account", description="That account's list; absent: the global list.")
_NUMBER = Parameter(
    name="number",
    location="path",
    required=True,
    schema={"type": "string", "pattern": r"^\+?[1-9][0-9]{6,14}$"},
    description="International (E.164) number, optional +.",
)
_ADDED: dict[int, Any] = {201: OptOutsAdded, 200: OptOutsAdded, 422: "problem", 503: "problem"}
_ADMIN_ADDED = {**_ADDED, 400: "problem", 404: "problem", **AUTH_PROBLEMS}
_REMOVED: dict[int, Any] = {204: None, 404: "problem", 422: "problem", 503: "problem"}


def _admin(method: str, path: str, summary: str, operation_id: str, **fields: Any) -> Operation:
    return admin_operation("admin: opt-outs", method, path, summary, operation_id, **fields)


OPERATIONS: list[Operation] = [
    _admin(
        "GET",
        _ADMIN,
        "An opt-out list as CSV: number,added_at,source",
        "adminExportOptOuts",
        parameters=(_ACCOUNT,),
        responses={200: _CSV, 400: "problem", 404: "problem", 503: "problem", **AUTH_PROBLEMS},
    ),
    _admin(
        "POST",
        f"{_ADMIN}/import",
        "Add the numbers of a text/csv body (a number column, or numbers alone) to a list;"
        " a bad row adds none",
        "adminImportOptOuts",
        parameters=(_ACCOUNT,),
        responses={**_ADMIN_ADDED, 415: "problem"},
    ),
    _admin(
        "POST",
        f"{_ADMIN}/{{number}}",
        "Add one number to a list",
        "adminAddOptOut",
        parameters=(_NUMBER, _ACCOUNT),
        responses=_ADMIN_ADDED,
    ),
    _admin(
        "DELETE",
        f"{_ADMIN}/{{number}}",
        "Take one number off a list",
        "adminRemoveOptOut",
        parameters=(_NUMBER, _ACCOUNT),
        responses={**_REMOVED, 400: "problem", **AUTH_PROBLEMS},
    ),
    Operation(
        method="GET",
        path=_V1,
        summary="The account's opt-out list as CSV: number,added_at,source",
        tag="opt-outs",
        operation_id="exportOptOuts",
        responses={200: _CSV, 401: "problem", 503: "problem"},
    ),
    Operation(
        method="POST",
        path=_V1,
        summary="Add numbers to the account's opt-out list: no message reaches them",
        tag="opt-outs",
        operation_id="addOptOuts",
        request=NumbersToAdd,
        responses={**_ADDED, 400: "problem", 401: "problem", 415: "problem"},
    ),
    Operation(
        method="DELETE",
        path=f"{_V1}/{{number}}",
        summary="Take a number off the account's opt-out list (not one that opted out by text)",
        tag="opt-outs",
        operation_id="removeOptOut",
        parameters=(_NUMBER,),
        responses={**_REMOVED, 401: "problem", 409: "problem"},
    ),
]
