"""CDR downloads: a customer's own (`/v1/cdrs`), anyone's for the admin (`/admin/cdrs`).

docs/billing.md, "CDRs". A month of CDRs can be gigabytes: the response is
streamed as PostgreSQL's cursor yields it, never held. Its first chunk is
read before the status is sent, so a database that does not answer is a
503, not a truncated 200.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime

import asyncpg
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from api.admin_edge import AUTH_PROBLEMS, admin_operation
from api.auth import account_of, check_admin_key
from api.openapi import Operation, Parameter
from api.problems import Problem
from engine import CDR_FORMATS as FORMATS
from engine import CdrFormat as Format
from engine import Cdrs, Period, Reporting, check_currency, month

MEDIA_TYPES: dict[str, str] = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl"}
_ACCOUNT = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_CUSTOMER_PARAMETERS = frozenset({"month", "from", "to", "format"})
_ADMIN_PARAMETERS = _CUSTOMER_PARAMETERS | {"account", "reporting"}


def _invalid(field: str, detail: str) -> Problem:
    return Problem(422, "invalid_parameter", f"Invalid {field}", detail, field=field)


def _instant(request: Request, name: str) -> datetime:
    raw = request.query_params.get(name)
    if raw is None:
        raise _invalid(name, "from and to go together (or give month=YYYY-MM)")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(name, f"{name} must be ISO 8601, e.g. 2026-12-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise _invalid(name, f"{name} must say its offset (Z for UTC)")
    return moment


def _period(request: Request) -> Period:
    """`month=YYYY-MM`, or `from` and `to` (half-open, ISO 8601 with an offset)."""
    query = request.query_params
    if "month" in query:
        if "from" in query or "to" in query:
            raise _invalid("month", "give month, or from and to, not both")
        try:
            return month(query["month"])
        except ValueError as exc:
            raise _invalid("month", str(exc)) from None
    if "from" not in query and "to" not in query:
        raise _invalid("month", "month=YYYY-MM (or from= and to=) is required")
    start, end = _instant(request, "from"), _instant(request, "to")
    if not start < end:
        raise _invalid("to", "to must be after from")
    return Period(start, end)


def _format(request: Request) -> Format:
    fmt = request.query_params.get("format", "csv")
    if fmt == "csv" or fmt == "jsonl":
        return fmt
    raise _invalid("format", f"format must be one of {', '.join(FORMATS)}")


def _check_known(request: Request, known: frozenset[str]) -> None:
    unknown = set(request.query_params) - known
    if unknown:
        raise Problem(
            400,
            "invalid_request",
            "Invalid request",
            f"unknown parameter(s): {', '.join(sorted(unknown))}",
        )


def _cdrs(request: Request) -> Cdrs:
    cdrs: Cdrs | None = request.app.state.engine.billing.cdrs
    if cdrs is None:
        raise Problem(503, "cdrs_unavailable", "No CDRs", "this shard has no PostgreSQL history")
    return cdrs


def _filename(who: str, period: Period, fmt: Format) -> str:
    """`cdrs-acme-2026-12.csv`; any other period by its UTC bounds, compact."""
    label = period.label
    if "/" in label:
        label = "-".join(
            t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") for t in (period.start, period.end)
        )
    return f"cdrs-{who}-{label}.{fmt}"


def _reporting(request: Request) -> Reporting | None:
    """``reporting=EUR``: each part's sale, cost and margin in EUR too."""
    code = request.query_params.get("reporting")
    if code is None:
        return None
    try:
        check_currency(code, "reporting")
    except ValueError as exc:
        raise _invalid("reporting", str(exc)) from None
    return Reporting(code, request.app.state.engine.billing.rates)


async def _response(
    request: Request,
    period: Period,
    fmt: Format,
    account: str | None,
    reporting: Reporting | None = None,
) -> Response:
    chunks = _cdrs(request).stream(period, fmt, account, reporting)
    try:
        first = await anext(chunks, b"")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise Problem(503, "cdrs_unavailable", "PostgreSQL does not answer", str(exc)) from exc
    filename = _filename(account or "all", period, fmt)
    return StreamingResponse(
        _body(first, chunks),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _body(first: bytes, rest: AsyncGenerator[bytes, None]) -> AsyncIterator[bytes]:
    """The chunk already read, then the others; the cursor is closed however it ends."""
    try:
        if first:
            yield first
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()


async def customer_cdrs(request: Request) -> Response:
    account = await account_of(request)
    _check_known(request, _CUSTOMER_PARAMETERS)
    return await _response(request, _period(request), _format(request), account.id)


async def admin_cdrs(request: Request) -> Response:
    await check_admin_key(request)
    _check_known(request, _ADMIN_PARAMETERS)
    account = request.query_params.get("account")
    if account is not None and not _ACCOUNT.fullmatch(account):
        raise _invalid("account", "account must be 1-64 of [A-Za-z0-9_.-]")
    period, fmt = _period(request), _format(request)
    return await _response(request, period, fmt, account, _reporting(request))


routes: list[BaseRoute] = [
    Route("/v1/cdrs", customer_cdrs, methods=["GET"]),
    Route("/admin/cdrs", admin_cdrs, methods=["GET"]),
]

_PERIOD_PARAMETERS = (
    Parameter(
        name="month",
        schema={"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
        description="The UTC calendar month, e.g. 2026-12; or give from and to.",
    ),
    Parameter(
        name="from",
        schema={"type": "string", "format": "date-time"},
        description="Start of the period (inclusive), with its offset.",
    ),
    Parameter(
        name="to",
        schema={"type": "string", "format": "date-time"},
        description="End of the period (exclusive), with its offset.",
    ),
    Parameter(
        name="format",
        schema={"type": "string", "enum": list(FORMATS), "default": "csv"},
        description="csv (with a header row) or jsonl (JSON lines, application/jsonl).",
    ),
)
_RESPONSES: dict[int, object] = {
    200: MEDIA_TYPES["csv"],
    400: "problem",
    422: "problem",
    503: "problem",
}

OPERATIONS: list[Operation] = [
    Operation(
        method="GET",
        path="/v1/cdrs",
        summary="The account's CDRs of a period: one record per message part",
        tag="billing",
        operation_id="getCdrs",
        parameters=_PERIOD_PARAMETERS,
        responses={**_RESPONSES, 401: "problem"},
    ),
    admin_operation(
        "billing",
        "GET",
        "/admin/cdrs",
        "CDRs of a period, of one account or of all",
        "adminGetCdrs",
        parameters=(
            *_PERIOD_PARAMETERS,
            Parameter(name="account", description="One account's only; all when left out."),
            Parameter(
                name="reporting",
                description="An ISO 4217 code: each part's sale, cost and margin in it too,"
                " at the rates valid at the accept.",
            ),
        ),
        responses={**_RESPONSES, **AUTH_PROBLEMS},
    ),
]
