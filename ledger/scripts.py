"""The ledger's Lua scripts: assembled once, called by SHA, reloaded on NOSCRIPT.

Each script is `#!lua` (so Redis refuses it up front when out of memory rather
than failing half way, and checks that it stays in one Cluster slot), then a
prelude of constants generated from the Python enums (field names, event kinds,
result codes), then `common.lua` where a script changes ledger state, then its
own file from `ledger/lua/`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from enum import StrEnum
from importlib import resources
from typing import Any

from redis.exceptions import NoScriptError

from ledger.events import EventField, EventKind
from ledger.layout import (
    SETTLED_SLICES,
    AccountField,
    HoldField,
    HoldState,
    OutboxField,
    SettledMark,
)
from ledger.model import (
    MAX_AMOUNT,
    AcceptOutcome,
    AdjustOutcome,
    QuotaPeriod,
    SettleOutcome,
    VoidOutcome,
)
from ledger.redis_client import RedisClient

_CONSTANTS: dict[str, type[StrEnum]] = {
    "AF": AccountField,
    "HF": HoldField,
    "HS": HoldState,
    "SM": SettledMark,
    "OF": OutboxField,
    "EF": EventField,
    "KIND": EventKind,
    "PERIOD": QuotaPeriod,
    "ACCEPT": AcceptOutcome,
    "SETTLE": SettleOutcome,
    "ADJUST": AdjustOutcome,
    "VOID": VoidOutcome,
}


def lua_prelude() -> str:
    """Lua tables mirroring the Python enums, e.g. `local AF = {balance="balance", ...}`,
    and `append_message_events` (`lua/message_events.lua`): every script that
    writes to a bucket's event stream writes the one format the persister reads."""
    lines = [f"local MAX_AMOUNT = {MAX_AMOUNT}", f"local SETTLED_SLICES = {SETTLED_SLICES}"]
    for table, enum in _CONSTANTS.items():
        items = ", ".join(f'{member.name.lower()}="{member.value}"' for member in enum)
        lines.append(f"local {table} = {{{items}}}")
    return "\n".join(lines) + "\n" + _lua_file("message_events")


def _lua_file(name: str) -> str:
    return resources.files("ledger").joinpath("lua", f"{name}.lua").read_text()


class LuaScript:
    """One script, called by SHA; on NOSCRIPT (a restarted or flushed Redis) loaded again."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    @classmethod
    def from_files(cls, name: str, *, ledger_state: bool) -> LuaScript:
        """`ledger/lua/<name>.lua` behind the shebang, the prelude and maybe `common.lua`."""
        parts = ["#!lua\n", lua_prelude()]
        if ledger_state:
            parts.append(_lua_file("common"))
        parts.append(_lua_file(name))
        return cls(name, "".join(parts))

    @classmethod
    def from_package(cls, package: str, name: str) -> LuaScript:
        """`<package>/lua/<name>.lua` of the room that owns it, as written there."""
        return cls(name, resources.files(package).joinpath("lua", f"{name}.lua").read_text())

    async def load(self, redis: RedisClient) -> None:
        await redis.script_load(self.source)

    async def __call__(self, redis: RedisClient, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self.load(redis)
            return await redis.evalsha(self.sha, len(keys), *keys, *args)


class LedgerScripts:
    """Every script of the ledger, built once per process."""

    def __init__(self) -> None:
        self.accept = LuaScript.from_files("accept", ledger_state=True)
        self.settle = LuaScript.from_files("settle", ledger_state=True)
        self.void = LuaScript.from_files("void", ledger_state=True)
        self.adjust = LuaScript.from_files("adjust", ledger_state=True)
        self.set_account = LuaScript.from_files("set_account", ledger_state=True)
        self.trim_events = LuaScript.from_files("trim_events", ledger_state=False)
        self.append_events = LuaScript.from_files("append_events", ledger_state=False)
        self.replace_outbox = LuaScript.from_files("replace_outbox", ledger_state=False)

    def all(self) -> tuple[LuaScript, ...]:
        return (
            self.accept,
            self.settle,
            self.void,
            self.adjust,
            self.set_account,
            self.trim_events,
            self.append_events,
            self.replace_outbox,
        )
