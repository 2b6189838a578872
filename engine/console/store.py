"""Where console users and sessions live: memory (dev, tests) or Redis
(every shard sees the same users and sessions)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import msgspec

from engine.console.users import ConsoleUser, Session
from ledger.redis_client import RedisClient

Clock = Callable[[], float]


class ConsoleUserStore(Protocol):
    async def get(self, name: str) -> ConsoleUser | None: ...
    async def put(self, user: ConsoleUser) -> None: ...
    async def users(self) -> list[ConsoleUser]: ...
    async def get_session(self, session_id: str) -> Session | None: ...
    async def put_session(self, session_id: str, session: Session) -> None: ...
    async def drop_session(self, session_id: str) -> None: ...
    async def claim_code(self, name: str, step: int, seconds: int) -> bool:
        """True the first time ``name`` uses the TOTP time step ``step``
        (remembered ``seconds``): a code is good once (RFC 6238, 5.2)."""
        ...


class MemoryConsoleUserStore:
    def __init__(self, clock: Clock = time.time) -> None:
        self._users: dict[str, ConsoleUser] = {}
        self._sessions: dict[str, Session] = {}
        self._codes: dict[tuple[str, int], float] = {}
        self._clock = clock

    async def get(self, name: str) -> ConsoleUser | None:
        return self._users.get(name)

    async def put(self, user: ConsoleUser) -> None:
        self._users[user.name] = user

    async def users(self) -> list[ConsoleUser]:
        return sorted(self._users.values(), key=lambda u: u.name)

    async def get_session(self, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        if session is not None and session.expires_at <= self._clock():
            del self._sessions[session_id]
            return None
        return session

    async def put_session(self, session_id: str, session: Session) -> None:
        now = self._clock()
        self._sessions = {k: s for k, s in self._sessions.items() if s.expires_at > now}
        self._sessions[session_id] = session

    async def drop_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    async def claim_code(self, name: str, step: int, seconds: int) -> bool:
        now = self._clock()
        self._codes = {k: until for k, until in self._codes.items() if until > now}
        if (name, step) in self._codes:
            return False
        self._codes[name, step] = now + seconds
        return True


class RedisConsoleUserStore:
    """A hash ``{namespace}:console:users`` (name -> JSON), one key per
    session, ``{namespace}:console:session:{id}``, expiring with it, and one
    per TOTP code used, ``{namespace}:console:code:{name}:{step}``."""

    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self._redis = redis
        self._users = f"{namespace}:console:users"
        self._session = f"{namespace}:console:session:"
        self._code = f"{namespace}:console:code:"

    async def get(self, name: str) -> ConsoleUser | None:
        raw = await self._redis.hget(self._users, name)
        return None if raw is None else msgspec.json.decode(raw, type=ConsoleUser)

    async def put(self, user: ConsoleUser) -> None:
        await self._redis.hset(self._users, user.name, msgspec.json.encode(user))

    async def users(self) -> list[ConsoleUser]:
        raw = await self._redis.hvals(self._users)
        found = [msgspec.json.decode(r, type=ConsoleUser) for r in raw]
        return sorted(found, key=lambda u: u.name)

    async def get_session(self, session_id: str) -> Session | None:
        raw = await self._redis.get(self._session + session_id)
        return None if raw is None else msgspec.json.decode(raw, type=Session)

    async def put_session(self, session_id: str, session: Session) -> None:
        ttl = max(1, int(session.expires_at - time.time()))
        await self._redis.set(self._session + session_id, msgspec.json.encode(session), ex=ttl)

    async def drop_session(self, session_id: str) -> None:
        await self._redis.delete(self._session + session_id)

    async def claim_code(self, name: str, step: int, seconds: int) -> bool:
        key = f"{self._code}{name}:{step}"
        return bool(await self._redis.set(key, b"1", ex=seconds, nx=True))
