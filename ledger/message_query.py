"""Reads messages back: an account's one with its history or a filtered page of
them, and for staff a search across accounts (`MessageSearch`) and any message's
history by its id alone (`find`).

Both backends answer the same `MessageQuery` contract: PostgreSQL
(`PgMessageQuery`, production, what the persister wrote) and the in-memory
store of `smsgw dev` (`ledger.memory_messages.MemoryMessageStore`).

Times are unix milliseconds (ints), as in every ledger event. Lists are newest
first by (accepted_at, message_id) and paged with a keyset cursor: a page is
what comes strictly after the last item of the previous one, so messages
accepted meanwhile never shift a page or repeat an item. A message enters the
lists once its acceptance is known; list items leave `events` empty (the
history is one `get` away).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timedelta
from typing import Protocol

import asyncpg
import msgspec

from ledger.events import MAX_ADDRESS, MAX_REFERENCE, MessageState
from ledger.model import check_account, check_message_id
from ledger.pgstore import timestamp
from ledger.postgres.pool import LazyPool

MAX_PAGE = 1_000
"""The most messages one page may hold."""

_MS = timedelta(milliseconds=1)
_EPOCH = timestamp(0)
_CURSOR = re.compile(r"[A-Za-z0-9_-]{4,120}")


class StateChange(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a message's history."""

    state: MessageState
    at: int
    connector: str | None = None
    operator_message_id: str | None = None
    error_code: int | None = None


class MessageRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A message as the history knows it; None or 0 where it does not know.

    `held` and `charged` come from the ledger's hold and capture (minor units);
    `price_per_part` and the addresses from the message's ACCEPTED event.
    """

    message_id: str
    account: str
    state: MessageState
    parts: int
    price_per_part: int
    held: int | None
    charged: int | None
    connector: str | None
    operator_message_id: str | None
    error_code: int | None
    destination: str | None
    source: str | None
    reference: str | None
    accepted_at: int | None
    updated_at: int
    events: list[StateChange] = msgspec.field(default_factory=list)


class MessageFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which messages a list holds; every field set must match (exactly).

    `since` is inclusive and `until` exclusive, both on `accepted_at`.
    """

    state: MessageState | None = None
    since: int | None = None
    until: int | None = None
    destination: str | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.state is not None:
            MessageState(self.state)
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 0):
                raise ValueError(f"{name} must be a non-negative int (unix ms), got {value!r}")
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError(f"since ({self.since}) is after until ({self.until})")
        for name, limit in (("destination", MAX_ADDRESS), ("reference", MAX_REFERENCE)):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, str) or not 0 < len(value) <= limit or not value.isprintable()
            ):
                raise ValueError(f"{name} must be 1-{limit} printable characters, got {value!r}")

    def matches(self, record: MessageRecord) -> bool:
        """Whether an accepted message belongs to the list (the PostgreSQL WHERE, in Python)."""
        accepted_at = record.accepted_at
        return (
            accepted_at is not None
            and (self.state is None or record.state == self.state)
            and (self.since is None or accepted_at >= self.since)
            and (self.until is None or accepted_at < self.until)
            and (self.destination is None or record.destination == self.destination)
            and (self.reference is None or record.reference == self.reference)
        )


class MessageSearch(msgspec.Struct, frozen=True, kw_only=True):
    """The staff's search: any account unless `account` is set; every field set
    must match (exactly). `since` is inclusive and `until` exclusive, both on
    `accepted_at`; a `message_id` that cannot name a message finds nothing."""

    account: str | None = None
    message_id: str | None = None
    destination: str | None = None
    since: int | None = None
    until: int | None = None

    def __post_init__(self) -> None:
        if self.account is not None:
            check_account(self.account)
        MessageFilter(since=self.since, until=self.until, destination=self.destination)
        if self.message_id is not None and not isinstance(self.message_id, str):
            raise ValueError(f"message_id must be a string, got {self.message_id!r}")

    def matches(self, record: MessageRecord) -> bool:
        """Whether an accepted message is found (the PostgreSQL WHERE, in Python)."""
        accepted_at = record.accepted_at
        return (
            accepted_at is not None
            and (self.account is None or record.account == self.account)
            and (self.message_id is None or record.message_id == self.message_id)
            and (self.destination is None or record.destination == self.destination)
            and (self.since is None or accepted_at >= self.since)
            and (self.until is None or accepted_at < self.until)
        )


class MessagePage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a list; `next_cursor` asks for the next one, None on the last."""

    items: list[MessageRecord]
    next_cursor: str | None


class MessageQuery(Protocol):
    """The read side of message history, the same on every backend."""

    async def get(self, account: str, message_id: str) -> MessageRecord | None:
        """The account's message with its history; None when unknown or another account's."""

    async def list(
        self,
        account: str,
        filter: MessageFilter | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> MessagePage:
        """The account's messages matching `filter`, newest first, after `cursor`.

        Raises ValueError for a malformed cursor or a limit outside 1..MAX_PAGE.
        """

    async def find(self, message_id: str) -> MessageRecord | None:
        """Any account's message with its history (staff only); None when unknown."""

    async def search(
        self, search: MessageSearch, cursor: str | None = None, limit: int = 100
    ) -> MessagePage:
        """The accepted messages `search` finds, newest first, after `cursor`
        (the order and cursors of `list`). Raises ValueError as `list` does."""


def encode_cursor(accepted_at: int, message_id: str) -> str:
    """The opaque, url-safe cursor that resumes a list after this message."""
    raw = f"{accepted_at}:{message_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    """(accepted_at, message_id) of a cursor from `encode_cursor`; ValueError otherwise."""
    if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
        raise ValueError("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("malformed cursor") from None
    at, _, message_id = raw.partition(":")
    if not at.isdigit() or len(at) > 15 or not is_message_id(message_id):
        raise ValueError("malformed cursor")
    return int(at), message_id


def check_page_request(account: str, cursor: str | None, limit: int) -> tuple[int, str] | None:
    """Validates a list call's arguments; returns the decoded cursor, if any."""
    check_account(account)
    if type(limit) is not int or not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be an int in 1..{MAX_PAGE}, got {limit!r}")
    return None if cursor is None else decode_cursor(cursor)


def check_search_request(cursor: str | None, limit: int) -> tuple[int, str] | None:
    """`check_page_request` without an account: the search's own."""
    if type(limit) is not int or not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be an int in 1..{MAX_PAGE}, got {limit!r}")
    return None if cursor is None else decode_cursor(cursor)


def is_message_id(message_id: str) -> bool:
    """Whether the id could name a message; an id that cannot is simply not found."""
    try:
        check_message_id(message_id)
    except ValueError:
        return False
    return True


def _ms(at: datetime) -> int:
    return (at - _EPOCH) // _MS


_RECORD_COLUMNS = """message_id, account, state, parts,
       COALESCE(price_per_part, 0) AS price_per_part, held, charged, connector,
       operator_message_id, error_code, destination, source, reference, accepted_at, updated_at"""

_GET_MESSAGE = f"""
SELECT {_RECORD_COLUMNS}, history FROM messages WHERE message_id = $1 AND account = $2
"""

_ACCOUNT_OF = "SELECT account FROM messages WHERE message_id = $1"

_FIND_MESSAGE = f"SELECT {_RECORD_COLUMNS}, history FROM messages WHERE message_id = $1"

_History = list[tuple[MessageState, int, str | None, str | None, int | None]]
_decode_history = msgspec.json.Decoder(_History).decode
"""`messages.history`: `[state, at (unix ms), connector, operator_message_id,
error_code]` per change, oldest first (sql/0004_messages_by_day.sql)."""


_LIST_CONDITIONS = (
    ("state", "state = ${}"),
    ("since", "accepted_at >= ${0} AND created_at >= ${0}"),
    ("until", "accepted_at < ${0} AND created_at < ${0}"),
    ("destination", "destination = ${}"),
    ("reference", "reference = ${}"),
)
_SEARCH_CONDITIONS = (
    ("account", "account = ${}"),
    ("message_id", "message_id = ${}"),
    ("destination", "destination = ${}"),
    ("since", "accepted_at >= ${0} AND created_at >= ${0}"),
    ("until", "accepted_at < ${0} AND created_at < ${0}"),
)


def _list_sql(filter: MessageFilter, after: bool) -> tuple[str, list[str]]:
    """The list query for the filter's fields that are set: $1 is the account, then
    one parameter per condition in this order, the cursor's two, and the limit last.

    A listed message's `created_at` (the day partition's key) is its
    `accepted_at`: bounding it too lets PostgreSQL skip the days out of range."""
    return _page_sql(filter, _LIST_CONDITIONS, ["account = $1"], after)


def search_sql(search: MessageSearch, after: bool) -> tuple[str, list[str]]:
    """The search query for the fields that are set, one parameter each in this
    order, then the cursor's two and the limit last. Without an account it reads
    `messages_accepted` or `messages_destination` (sql/0006_message_search.sql);
    with one, the account's list indexes; an id, the primary key."""
    return _page_sql(search, _SEARCH_CONDITIONS, [], after)


def _page_sql(
    wanted: object, matching: tuple[tuple[str, str], ...], fixed: list[str], after: bool
) -> tuple[str, list[str]]:
    """A page of accepted messages, newest first: ``fixed`` conditions take the
    first parameters, then each field of ``wanted`` that is set, the cursor's
    two and the limit."""
    conditions = [*fixed, "accepted_at IS NOT NULL"]
    fields = []
    for field, condition in matching:
        if getattr(wanted, field) is not None:
            fields.append(field)
            conditions.append(condition.format(len(fixed) + len(fields)))
    index = len(fixed) + len(fields) + 1
    if after:
        conditions.append(
            f"(accepted_at, message_id) < (${index}, ${index + 1}) AND created_at <= ${index}"
        )
        index += 2
    sql = (
        f"SELECT {_RECORD_COLUMNS} FROM messages WHERE {' AND '.join(conditions)}"
        f" ORDER BY accepted_at DESC, message_id DESC LIMIT ${index}"
    )
    return sql, fields


def _record(row: asyncpg.Record, events: list[StateChange]) -> MessageRecord:
    accepted_at = row["accepted_at"]
    return MessageRecord(
        message_id=row["message_id"],
        account=row["account"],
        state=MessageState(row["state"]),
        parts=row["parts"],
        price_per_part=row["price_per_part"],
        held=row["held"],
        charged=row["charged"],
        connector=row["connector"],
        operator_message_id=row["operator_message_id"],
        error_code=row["error_code"],
        destination=row["destination"],
        source=row["source"],
        reference=row["reference"],
        accepted_at=None if accepted_at is None else _ms(accepted_at),
        updated_at=_ms(row["updated_at"]),
        events=events,
    )


def _history(raw: str) -> list[StateChange]:
    return [
        StateChange(
            state=state,
            at=at,
            connector=connector,
            operator_message_id=operator_message_id,
            error_code=error_code,
        )
        for state, at, connector, operator_message_id, error_code in _decode_history(raw)
    ]


class PgMessageQuery:
    """`MessageQuery` over the tables the persister fills.

    Give it a pool to share, or a database URL: then it opens its own small pool
    on first use and `aclose` closes it.
    """

    def __init__(self, database: asyncpg.Pool | str, *, max_connections: int = 4) -> None:
        self._database = LazyPool(database, max_connections)

    async def _connections(self) -> asyncpg.Pool:
        return await self._database.pool()

    async def ping(self) -> None:
        """Raises when PostgreSQL does not answer (the readiness check)."""
        pool = await self._connections()
        await pool.fetchval("SELECT 1")

    async def aclose(self) -> None:
        """Closes the pool this reader opened; a pool it was given stays open."""
        await self._database.close()

    async def get(self, account: str, message_id: str) -> MessageRecord | None:
        check_account(account)
        if not is_message_id(message_id):
            return None
        pool = await self._connections()
        row = await pool.fetchrow(_GET_MESSAGE, message_id, account)
        if row is None:
            return None
        return _record(row, _history(row["history"]))

    async def account_of(self, message_id: str) -> str | None:
        """Whose message this is (ids are unique across accounts and shards):
        for an operator who has only the id (`smsgw messages show`)."""
        if not is_message_id(message_id):
            return None
        pool = await self._connections()
        account: str | None = await pool.fetchval(_ACCOUNT_OF, message_id)
        return account

    async def list(
        self,
        account: str,
        filter: MessageFilter | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> MessagePage:
        after = check_page_request(account, cursor, limit)
        filter = filter or MessageFilter()
        sql, fields = _list_sql(filter, after is not None)
        return await self._page(sql, [account], filter, fields, after, limit)

    async def find(self, message_id: str) -> MessageRecord | None:
        if not is_message_id(message_id):
            return None
        pool = await self._connections()
        row = await pool.fetchrow(_FIND_MESSAGE, message_id)
        return None if row is None else _record(row, _history(row["history"]))

    async def search(
        self, search: MessageSearch, cursor: str | None = None, limit: int = 100
    ) -> MessagePage:
        after = check_search_request(cursor, limit)
        if search.message_id is not None and not is_message_id(search.message_id):
            return MessagePage(items=[], next_cursor=None)
        sql, fields = search_sql(search, after is not None)
        return await self._page(sql, [], search, fields, after, limit)

    async def _page(
        self,
        sql: str,
        args: list[object],
        wanted: object,
        fields: list[str],
        after: tuple[int, str] | None,
        limit: int,
    ) -> MessagePage:
        """Runs a page query of `_page_sql` with ``args`` first, then the
        values of ``wanted``'s ``fields``, the cursor's two and the limit."""
        for field in fields:
            value = getattr(wanted, field)
            args.append(timestamp(value) if field in ("since", "until") else str(value))
        if after is not None:
            args += [timestamp(after[0]), after[1]]
        args.append(limit + 1)
        pool = await self._connections()
        rows = await pool.fetch(sql, *args)
        items = [_record(row, []) for row in rows[:limit]]
        return MessagePage(items=items, next_cursor=next_cursor(items, more=len(rows) > limit))


def next_cursor(items: list[MessageRecord], *, more: bool) -> str | None:
    """The cursor after a page's last item, when more items follow."""
    if not more or not items:
        return None
    last = items[-1]
    assert last.accepted_at is not None
    return encode_cursor(last.accepted_at, last.message_id)
