"""`SenderRegistry`: one shard's sender IDs, kept in step with the other shards.

A decision is written to the store, applied to this shard's approved sets,
then published on ``{namespace}:senders`` (`engine.admin.publishing.ShardChannels`).
A shard that hears it asks the store for that sender ID: what it applies is
the store's word, whichever order notices arrive in. A notice missed while a
shard was not listening is caught up by its next full read, every
``reload_interval``. The accept path reads only the approved sets: no Redis
round trip per message.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import structlog
from redis.exceptions import RedisError

from engine.admin.audit import current_actor
from engine.admin.publishing import ShardChannels
from engine.loop.batching import BackgroundTasks
from engine.senders.model import MAX_NOTE, STATES, SenderId, State, check_sender, source_key
from engine.senders.store import SenderStore
from ledger.redis_client import RedisClient

log = structlog.get_logger("smsgw.senders")

RELOAD_INTERVAL = 300.0
"""Seconds between two full reads of the registry by each shard."""
_ORDER = {state: index for index, state in enumerate(STATES)}
"""Lists show what waits for a decision first."""


class SenderRefused(Exception):
    """A request or decision refused with a stable ``code``; nothing was changed."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Change(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a shard publishes: the sender ID whose state to ask the store for."""

    account: str
    sender: str


class SenderRegistry:
    def __init__(
        self,
        store: SenderStore,
        shard: str,
        namespace: str,
        redis: RedisClient | None = None,
        reload_interval: float = RELOAD_INTERVAL,
    ) -> None:
        """``redis``: where decisions are published to the other shards; None: this one only."""
        self.store = store
        self.channels = ShardChannels(shard, namespace, redis)
        self.channel = f"{namespace}:senders"
        self.reload_interval = reload_interval
        self.approved: dict[str, frozenset[str]] = {}
        """Each account's approved senders (absent: none), as `source_key` compares them."""
        self._tasks = BackgroundTasks()

    def is_approved(self, account: str, sender: str) -> bool:
        """On this shard's copy: may ``account`` send from ``sender``?"""
        return source_key(sender) in self.approved.get(account, ())

    def approved_of(self, account: str) -> list[str]:
        return sorted(self.approved.get(account, ()))

    # -- requests and decisions ---------------------------------------------------

    async def request(self, account: str, sender: str, note: str = "", by: str = "") -> SenderId:
        """A customer asks for ``sender``; one rejected may be asked for again."""
        sender = check_sender(sender)
        _check_text(note, "note")
        entry = SenderId(
            account=account,
            sender=sender,
            state="requested",
            note=note,
            requested_by=by or current_actor(),
            requested_at=_now(),
        )
        if await self.store.create(entry):
            return entry
        known = await self.store.get(account, sender)
        if known is not None and known.state != "rejected":
            raise SenderRefused(
                f"sender_{known.state}", f"{sender!r} is {known.state} for {account!r} already"
            )
        await self.store.put(entry)
        return entry

    async def approve(self, account: str, sender: str, by: str = "") -> SenderId:
        """Approves ``sender`` for ``account``, requested or not (staff may
        register one themselves)."""
        sender = check_sender(sender)
        known = await self.store.get(account, sender)
        now = _now()
        entry = SenderId(
            account=account,
            sender=sender,
            state="approved",
            note=known.note if known is not None else "",
            requested_by=known.requested_by if known is not None else by or current_actor(),
            requested_at=known.requested_at if known is not None else now,
            decided_by=by or current_actor(),
            decided_at=now,
        )
        await self._decided(entry)
        return entry

    async def reject(self, account: str, sender: str, reason: str, by: str = "") -> SenderId:
        """Rejects a requested sender, or withdraws an approved one; ``reason`` is required."""
        sender = check_sender(sender)
        if not reason.strip():
            raise SenderRefused("reason_required", "reason: say why the sender is rejected")
        _check_text(reason, "reason")
        known = await self.store.get(account, sender)
        if known is None:
            raise SenderRefused("unknown_sender", f"{account!r} has no sender {sender!r}")
        entry = msgspec.structs.replace(
            known,
            state="rejected",
            reason=reason.strip(),
            decided_by=by or current_actor(),
            decided_at=_now(),
        )
        await self._decided(entry)
        return entry

    async def entries(
        self, state: State | None = None, account: str | None = None
    ) -> list[SenderId]:
        """From the store: requested first (oldest first), then approved, then rejected."""
        found = [
            entry
            for entry in await self.store.all()
            if state in (None, entry.state) and account in (None, entry.account)
        ]
        return sorted(found, key=lambda e: (_ORDER[e.state], e.requested_at, e.account, e.sender))

    async def _decided(self, entry: SenderId) -> None:
        await self.store.put(entry)
        self._mark(entry)
        try:
            await self.channels.publish(self.channel, Change(entry.account, entry.sender))
        except (RedisError, OSError) as exc:  # peers read it at their next full read
            log.warning("sender decision not published", account=entry.account, error=str(exc))

    def _mark(self, entry: SenderId) -> None:
        held = set(self.approved.get(entry.account, ()))
        if entry.state == "approved":
            held.add(entry.sender)
        else:
            held.discard(entry.sender)
        if held:
            self.approved[entry.account] = frozenset(held)
        else:
            self.approved.pop(entry.account, None)

    # -- this shard's copy --------------------------------------------------------

    async def load(self) -> None:
        """Reads the registry whole: at start, and every ``reload_interval``."""
        approved: dict[str, set[str]] = {}
        for entry in await self.store.all():
            if entry.state == "approved":
                approved.setdefault(entry.account, set()).add(entry.sender)
        self.approved = {account: frozenset(senders) for account, senders in approved.items()}

    async def watch(self, redis: RedisClient) -> None:
        """Applies what other shards publish and reads the registry again each
        ``reload_interval``, until cancelled."""
        await self.channels.follow(
            redis,
            {self.channel: self.apply_published},
            self.load,
            self.reload_interval,
            "sender IDs",
        )

    def apply_published(self, data: Any) -> None:
        """A decision another shard made (`Change`); raises ValueError when it
        does not load (`ShardChannels` logs it and goes on)."""
        self._tasks.spawn(self._catch_up(msgspec.convert(data, Change)))

    async def _catch_up(self, change: Change) -> None:
        entry = await self.store.get(change.account, change.sender)
        if entry is not None:
            self._mark(entry)

    async def drain(self) -> None:
        """Waits for the notices heard and being applied."""
        await self._tasks.drain()


def _check_text(text: str, field: str) -> None:
    if len(text) > MAX_NOTE:
        raise SenderRefused(f"invalid_{field}", f"{field}: at most {MAX_NOTE} characters")
    if not text.isprintable():
        raise SenderRefused(f"invalid_{field}", f"{field}: no control characters (new lines, tabs)")


def _now() -> int:
    return int(time.time() * 1000)
