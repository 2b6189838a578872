"""Live pages over Server-Sent Events: the staff dashboard's figures
(``/console/events``) and the portal's message states (``/portal/events``).

A stream sends what changed every `TICK` seconds and a comment line when
nothing did (so a proxy keeps the connection). It ends when the browser goes
away, when the session is over (logged out, expired, user disabled), when
the HTTP front stops (else each open page would hold a shard's stop for
uvicorn's graceful timeout), and after `STREAM_SECONDS` in any case;
EventSource then reconnects by itself, with its cookie checked again like
any request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import msgspec
import structlog
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.console.portal import HISTORY_ROWS
from api.console.session import (
    STAFF_ROLES,
    console_of,
    current_session,
    page,
    require_own_account,
    require_user,
)
from engine import Engine, MessageFilter, Sample

log = structlog.get_logger("smsgw.console")

TICK = 2.0
"""Seconds between two looks at what changed."""
STREAM_SECONDS = 300.0
"""The longest one stream lasts before the browser opens the next."""
RETRY_MS = 3_000
"""How long EventSource waits before it reconnects."""

Event = tuple[str, object]
"""An event's name and its JSON data."""
Changes = Callable[[], Awaitable[list[Event]]]

_encode = msgspec.json.Encoder().encode


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def frame(name: str, data: object) -> bytes:
    """One event as the text/event-stream format spells it (JSON has no newline)."""
    return b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n"


async def _stream(request: Request, session_id: str, changes: Changes) -> AsyncIterator[bytes]:
    users = console_of(request).users
    ends = time.monotonic() + STREAM_SECONDS
    yield f"retry: {RETRY_MS}\n\n".encode()
    while time.monotonic() < ends:
        try:
            if request.app.state.stopping or await request.is_disconnected():
                return
            if await users.session(session_id) is None:
                return
            events = await changes()
        except Exception:  # a store outage: the browser reconnects and is answered anew
            log.warning("event stream ended", path=request.url.path, exc_info=True)
            return
        yield b"".join(frame(name, data) for name, data in events) or b": idle\n\n"
        await asyncio.sleep(TICK)


def event_stream(request: Request, session_id: str, changes: Changes) -> Response:
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _stream(request, session_id, changes), media_type="text/event-stream", headers=headers
    )


async def _session_id(request: Request) -> str:
    found = await current_session(request)
    assert found is not None  # require_user passed
    return found[0]


@page
async def console_events(request: Request) -> Response:
    """``history`` (the sampler's ring) first, then each new ``sample``."""
    await require_user(request, *STAFF_ROLES)
    sampler = _engine(request).platform.dashboard
    if sampler is None:
        return Response("live figures are not installed on this shard", status_code=404)
    sent: list[float] = []

    async def changes() -> list[Event]:
        samples: list[Sample] = list(sampler.samples)
        if not sent:
            sent.append(samples[-1].at if samples else 0.0)
            return [("history", samples)]
        fresh = [s for s in samples if s.at > sent[-1]]
        if fresh:
            sent.append(fresh[-1].at)
        return [("sample", s) for s in fresh]

    return event_stream(request, await _session_id(request), changes)


class MessageStateChange(msgspec.Struct, frozen=True):
    id: str
    state: str


@page
async def portal_events(request: Request) -> Response:
    """``states``: the account's newest messages whose state changed (all of
    them first); the page refetches its list for an id it does not show."""
    _, own = await require_own_account(request)
    account = own.id
    engine = _engine(request)
    known: dict[str, str] = {}

    async def changes() -> list[Event]:
        found = await engine.messages(account, MessageFilter(), None, HISTORY_ROWS)
        changed = [
            MessageStateChange(m.message_id, m.state.value)
            for m in (found.items if found is not None else [])
            if known.get(m.message_id) != m.state.value
        ]
        known.update((c.id, c.state) for c in changed)
        return [("states", changed)] if changed else []

    return event_stream(request, await _session_id(request), changes)
