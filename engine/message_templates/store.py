"""Where templates live: memory (dev, tests) or Redis, one hash per account
(``{namespace}:templates:{account}``, id -> JSON), so every command touches
one key and works alike on a node and on a Cluster."""

from __future__ import annotations

from typing import Protocol

import msgspec

from engine.message_templates.model import MessageTemplate
from ledger.redis_client import RedisClient
from ledger.scripts import LuaScript

REPLACE = -1
"""`put`'s limit for a change to a template that must exist already."""


class TemplateStore(Protocol):
    async def get(self, account: str, template_id: str) -> MessageTemplate | None: ...
    async def list(self, account: str) -> list[MessageTemplate]: ...
    async def put(self, template: MessageTemplate, limit: int) -> bool:
        """Saves a new template while the account has fewer than ``limit``, or
        with ``limit`` = `REPLACE` one that exists; False when refused."""
        ...

    async def delete(self, account: str, template_id: str) -> bool: ...


def _ordered(templates: list[MessageTemplate]) -> list[MessageTemplate]:
    return sorted(templates, key=lambda t: (t.name.casefold(), t.created_at, t.id))


class MemoryTemplateStore:
    def __init__(self) -> None:
        self._accounts: dict[str, dict[str, MessageTemplate]] = {}

    async def get(self, account: str, template_id: str) -> MessageTemplate | None:
        return self._accounts.get(account, {}).get(template_id)

    async def list(self, account: str) -> list[MessageTemplate]:
        return _ordered(list(self._accounts.get(account, {}).values()))

    async def put(self, template: MessageTemplate, limit: int) -> bool:
        held = self._accounts.setdefault(template.account, {})
        exists = template.id in held
        if not exists and (limit == REPLACE or len(held) >= limit):
            return False
        held[template.id] = template
        return True

    async def delete(self, account: str, template_id: str) -> bool:
        return self._accounts.get(account, {}).pop(template_id, None) is not None


_PUT = LuaScript.from_package("engine.message_templates", "put_template")
_decode = msgspec.json.Decoder(MessageTemplate).decode


class RedisTemplateStore:
    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:templates:"

    async def get(self, account: str, template_id: str) -> MessageTemplate | None:
        raw = await self._redis.hget(self._prefix + account, template_id)  # type: ignore[misc]
        return None if raw is None else _decode(raw)

    async def list(self, account: str) -> list[MessageTemplate]:
        raw = await self._redis.hvals(self._prefix + account)  # type: ignore[misc]
        return _ordered([_decode(item) for item in raw])

    async def put(self, template: MessageTemplate, limit: int) -> bool:
        key = self._prefix + template.account
        args = [template.id, msgspec.json.encode(template), limit]
        return bool(await _PUT(self._redis, [key], args))

    async def delete(self, account: str, template_id: str) -> bool:
        return bool(await self._redis.hdel(self._prefix + account, template_id))  # type: ignore[misc]
