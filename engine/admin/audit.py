"""The audit log of admin changes: who changed what, when.

Every change made through `Administration` (the admin API, and the `smsgw`
admin commands, which call that API) is appended after it succeeded, with the
actor in charge of the request: ``admin-api``, or ``cli:<OS user>`` when the
command line made the call. Production appends to one Redis stream,
``{namespace}:audit``, capped near ``length`` entries, which every shard
writes and `smsgw audit` reads; without Redis (``smsgw dev``) the log is kept
in memory. Nothing secret is recorded: passwords and webhook secrets appear
only as "set".

Each change is also logged (INFO, ``admin change``): a stream that cannot be
written loses no trace, and the change, already applied, is not undone.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import msgspec
import structlog
from redis.exceptions import RedisError

from ledger.redis_client import RedisClient

log = structlog.get_logger("smsgw.admin")

API_ACTOR = "admin-api"
ACTOR_HEADER = "X-Smsgw-Actor"
_CLI_ACTOR = re.compile(r"cli:[A-Za-z0-9_.@\-]{1,64}")
_actor: ContextVar[str] = ContextVar("smsgw_admin_actor", default="system")
"""``system``: a change the process makes itself (``smsgw dev``'s demo key)."""


def current_actor() -> str:
    """Who makes the change under way (`acting_as`)."""
    return _actor.get()


def requested_actor(claimed: str | None) -> str:
    """The actor of an admin API request: ``cli:<user>`` when the `smsgw`
    command line says so (its ``X-Smsgw-Actor`` header), else ``admin-api``.
    Only the admin key's holder gets this far, and it may do anything anyway."""
    return claimed if claimed and _CLI_ACTOR.fullmatch(claimed) else API_ACTOR


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Changes made inside are recorded as ``actor``'s (the admin API sets it per request)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    at: int
    """Unix milliseconds."""
    actor: str
    action: str
    """What was done, e.g. ``account.create``, ``credit.adjust``, ``connector.stop``."""
    target: str
    """The account, connector or document changed."""
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


_decode = msgspec.json.Decoder(AuditEntry).decode


class AuditLog:
    """Append-only: entries are only ever added (and the oldest trimmed past ``length``)."""

    def __init__(self, namespace: str, redis: RedisClient | None, length: int) -> None:
        self.stream = f"{namespace}:audit"
        self.redis = redis
        self.length = length
        self._memory: deque[AuditEntry] = deque(maxlen=length)

    async def record(self, action: str, target: str, **detail: Any) -> AuditEntry:
        entry = AuditEntry(
            at=int(time.time() * 1000),
            actor=_actor.get(),
            action=action,
            target=target,
            detail=detail,
        )
        log.info("admin change", actor=entry.actor, action=action, target=target, **detail)
        if self.redis is None:
            self._memory.append(entry)
            return entry
        try:
            await self.redis.xadd(
                self.stream, {"entry": msgspec.json.encode(entry)}, maxlen=self.length
            )
        except RedisError as exc:
            log.error("audit entry not stored", action=action, target=target, error=str(exc))
        return entry

    async def recent(self, limit: int) -> list[AuditEntry]:
        """The last ``limit`` entries, newest first."""
        if self.redis is None:
            return list(reversed(self._memory))[:limit]
        rows = await self.redis.xrevrange(self.stream, count=limit)
        return [_decode(fields[b"entry"]) for _, fields in rows]
