"""The ``Idempotency-Key`` header: a retried request gets the first answer back.

Which answers are kept: only those a retry must not redo, because a message
was accepted: a success (202, 200) and a final answer about an accepted message
(a problem naming its ``message_id``: 504 ``wait_timeout``, 422
``message_failed``). Every other refusal frees the key: nothing was held or
sent, and the same request may succeed once its cause is gone (a fixed body
after a 400, credit after a 402, a route after a 422, the next second after a
429), so replaying it would only make the key useless. A request cancelled
midway (the client went away) keeps its key pending until the hold lapses: it
may have accepted a message, so a retry meanwhile gets 409 rather than a
second message.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import structlog
from starlette.requests import Request
from starlette.responses import Response

from api.openapi import Parameter
from api.problems import Problem
from engine import AccountConfig, ApiConfig, Clash, IdempotencyStore, StoredAnswer, fingerprint

log = structlog.get_logger("smsgw.api")

HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = Parameter(
    name=HEADER,
    location="header",
    schema={"type": "string", "minLength": 1, "maxLength": 255},
    description="Same key and body: the first answer again; another body: 409.",
)
"""The header as every operation that honours it documents it."""
_KEY = re.compile(r"[\x20-\x7e]{1,255}")
_RUNNING_GRACE = 30.0
"""Seconds a request may run beyond the longest OTP wait before its pending
claim lapses (only a crashed or stuck request runs that long)."""

_CLASH_TITLES = {
    Clash.IN_PROGRESS: "A request with this Idempotency-Key is still running",
    Clash.CONFLICT: "This Idempotency-Key was used with another body",
}


async def answer_once(
    request: Request,
    account: AccountConfig,
    body: bytes,
    run: Callable[[], Awaitable[Response]],
) -> Response:
    """``run()``'s answer, or, under an ``Idempotency-Key`` already answered
    with this same body, that stored answer (marked ``Idempotent-Replayed``)."""
    key = request.headers.get(HEADER)
    if key is None:
        return await run()
    if not _KEY.fullmatch(key):
        raise Problem(
            400,
            "invalid_idempotency_key",
            "Invalid Idempotency-Key",
            "1 to 255 printable ASCII characters",
        )
    store: IdempotencyStore = request.app.state.idempotency
    limits: ApiConfig = request.app.state.engine.gateway.config.api
    try:
        claimed = await store.claim(
            account.id, key, fingerprint(body), hold=limits.max_wait + _RUNNING_GRACE
        )
    except Exception as exc:  # the store (Redis) does not answer
        raise Problem(
            503, "idempotency_unavailable", "Cannot check the Idempotency-Key now", str(exc)
        ) from exc
    if isinstance(claimed, Clash):
        raise Problem(409, claimed.value, _CLASH_TITLES[claimed])
    if isinstance(claimed, StoredAnswer):
        return Response(
            claimed.body,
            status_code=claimed.status,
            media_type=claimed.media_type,
            headers={**claimed.headers, "Idempotent-Replayed": "true"},
        )
    try:
        try:
            response = await run()
            final = response.status_code < 300
        except Problem as problem:
            response = problem.response()
            final = "message_id" in problem.extra
    except Exception:
        await store.abandon(account.id, key, claimed)
        raise
    if not final:
        await store.abandon(account.id, key, claimed)
        return response
    answer = StoredAnswer(
        status=response.status_code,
        body=bytes(response.body),
        media_type=response.media_type or "application/json",
    )
    try:
        await store.finish(account.id, key, claimed, answer, keep=limits.idempotency_ttl)
    except Exception:  # the answer stands; the key stays pending until its hold lapses
        log.warning("idempotency answer not stored", account=account.id, exc_info=True)
    return response
