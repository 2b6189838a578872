"""Admin endpoints for exchange rates: list them, add records, import a CSV file.

- ``/admin/exchange-rates`` GET (``?base=&quote=`` to filter): the records
  this shard prices with, by pair then ``valid_from``; POST: a JSON array of
  records.
- ``/admin/exchange-rates/import`` POST: a ``text/csv`` body (UTF-8), header
  ``base,quote,rate,valid_from`` (`engine.billing.rates.parse_rates_csv`).

Records are never edited (docs/billing.md): one already held is counted as
unchanged; another rate for a pair and instant already held is a 409
``exchange_rate_conflict``. Bad records are a 422 ``invalid_exchange_rates``
listing every issue with its place (``$[2].rate: ...`` in JSON, ``line 3:
rate: ...`` in a file). Either refusal adds nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.admin_edge import (
    AUTH_PROBLEMS,
    admin_endpoint,
    admin_operation,
    check_json,
    engine_of,
    invalid,
    json,
)
from api.openapi import Operation, Parameter
from api.problems import Problem, pattern_words, readable
from engine import (
    MAX_CSV_ROWS,
    Administration,
    ExchangeRate,
    ExchangeRates,
    RateConflict,
    RateIssues,
    check_currency,
    parse_rates_csv,
)

Records = Annotated[list[ExchangeRate], Meta(max_length=MAX_CSV_ROWS)]
_decode_record = msgspec.json.Decoder(ExchangeRate).decode
_WORDS = pattern_words(ExchangeRate)
_CSV = "text/csv"


class RateList(msgspec.Struct, frozen=True):
    rates: list[ExchangeRate]


class RatesAdded(msgspec.Struct, frozen=True, kw_only=True):
    added: int
    """Records new to the store."""
    unchanged: int
    """Records already held as they are (sent again, or twice)."""


def _rates(request: Request) -> ExchangeRates:
    return engine_of(request).billing.rates


@admin_endpoint
async def list_rates(request: Request, admin: Administration) -> Response:
    base, quote = _currency_query(request, "base"), _currency_query(request, "quote")
    records = [
        record
        for record in _rates(request).records()
        if base in (None, record.base) and quote in (None, record.quote)
    ]
    return json(RateList(records))


@admin_endpoint
async def add_rates(request: Request, admin: Administration) -> Response:
    check_json(request)
    return await _add(request, admin, _decoded(await request.body()))


@admin_endpoint
async def import_rates(request: Request, admin: Administration) -> Response:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != _CSV:
        raise Problem(415, "unsupported_media_type", "Send text/csv", media_type)
    try:
        text = (await request.body()).decode()
    except UnicodeDecodeError as exc:
        raise invalid(f"the file is not UTF-8: {exc}") from exc
    try:
        records = parse_rates_csv(text)
    except RateIssues as exc:
        raise _refused(exc.issues) from exc
    except ValueError as exc:  # too many rows
        raise _refused([str(exc)]) from exc
    return await _add(request, admin, records)


async def _add(request: Request, admin: Administration, records: list[ExchangeRate]) -> Response:
    try:
        added = await admin.add_rates(records)
    except RateConflict as exc:
        title = "Another rate is held for that pair and instant"
        raise Problem(409, "exchange_rate_conflict", title, str(exc)) from exc
    pairs = sorted({f"{record.base}->{record.quote}" for record in records})
    await admin.audit.record("exchange_rates.add", "exchange-rates", added=added, pairs=pairs)
    answer = RatesAdded(added=added, unchanged=len(records) - added)
    return json(answer, 201 if added else 200)


def _decoded(body: bytes) -> list[ExchangeRate]:
    """Every record of a JSON array, or a 422 listing the issues of all of them."""
    try:
        items = msgspec.json.decode(body, type=list[msgspec.Raw])
    except msgspec.DecodeError as exc:
        raise invalid(str(exc)) from exc
    if len(items) > MAX_CSV_ROWS:
        raise _refused([f"more than {MAX_CSV_ROWS} records: add them in several requests"])
    records: list[ExchangeRate] = []
    issues: list[str] = []
    for index, item in enumerate(items):
        try:
            records.append(_decode_record(item))
        except msgspec.ValidationError as exc:
            issues += _placed(index, readable(str(exc), _WORDS))
    if issues:
        raise _refused(RateIssues(issues).issues)
    return records


def _placed(index: int, message: str) -> list[str]:
    """msgspec's message about item ``index`` as issues placed in the array:
    ``$[2].base: expected ...``, ``$[2]: rate: must be positive ...``."""
    if message.startswith("$"):  # `readable`'s "path: expected ..." form
        path, _, why = message.partition(": ")
        return [f"$[{index}]{path[1:]}: {why}"]
    why, _, path = message.partition(" - at `")
    place = f"$[{index}]{path.removesuffix('`')[1:]}"
    return [f"{place}: {line}" for line in why.splitlines()]


def _refused(issues: tuple[str, ...] | list[str]) -> Problem:
    return Problem(
        422,
        "invalid_exchange_rates",
        "Invalid exchange rates",
        f"{len(issues)} issue(s)",
        issues=list(issues),
    )


def _currency_query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        return check_currency(value, name)
    except ValueError as exc:
        raise invalid(str(exc)) from exc


_PATH = "/admin/exchange-rates"

routes: list[BaseRoute] = [
    Route(_PATH, list_rates, methods=["GET"]),
    Route(_PATH, add_rates, methods=["POST"]),
    Route(f"{_PATH}/import", import_rates, methods=["POST"]),
]

_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}
_ADDED: dict[int, Any] = {201: RatesAdded, 200: RatesAdded, 400: "problem", **AUTH_PROBLEMS}
_ADDED |= {409: "problem", 415: "problem", 422: "problem", 503: "problem"}


def _op(method: str, path: str, summary: str, operation_id: str, **fields: Any) -> Operation:
    return admin_operation("admin: billing", method, path, summary, operation_id, **fields)


OPERATIONS: list[Operation] = [
    _op(
        "GET",
        _PATH,
        "The exchange rate records this shard prices with, by pair then valid_from",
        "adminListExchangeRates",
        parameters=(
            Parameter(name="base", schema=_CURRENCY, description="Only this base currency."),
            Parameter(name="quote", schema=_CURRENCY, description="Only this quote currency."),
        ),
        responses={200: RateList, 400: "problem", **AUTH_PROBLEMS},
    ),
    _op(
        "POST",
        _PATH,
        "Add exchange rate records (never edited: a new rate is a record from a new instant);"
        " all or none",
        "adminAddExchangeRates",
        request=Records,
        responses=_ADDED,
    ),
    _op(
        "POST",
        f"{_PATH}/import",
        "Add the exchange rate records of a text/csv body with the header"
        " base,quote,rate,valid_from (a date alone is 00:00 UTC); all or none",
        "adminImportExchangeRates",
        responses=_ADDED,
    ),
]
