"""Redis and PostgreSQL reachable, and the schema migrated, before `smsgw serve` starts.

A backend that does not answer is said in one line on stderr and tried again
with backoff for ``[startup] wait`` seconds (it may be starting beside us, as
in a compose file); then the start fails with one line. What waiting does not
cure (a wrong password, a database that does not exist, a schema behind this
release) fails at once.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog
from redis.asyncio import RedisCluster
from redis.exceptions import AuthenticationError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ledger.migrations import MigrationError, load_migrations
from ledger.redis_client import RedisClient, open_redis
from ledger.retry import Backoff
from smsgw.preflight import StartupError

log = structlog.get_logger("smsgw.startup")

BACKOFF = Backoff(base=0.25, cap=5.0)
ATTEMPT_TIMEOUT = 5.0
"""Seconds one attempt may take: a host that drops packets answers nothing."""

_LAZY_EXPIRE = "lazyfree-lazy-expire"
REDIS_DOWN = (OSError, TimeoutError, RedisConnectionError, RedisTimeoutError)
DATABASE_DOWN = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.PostgresConnectionError,
    asyncpg.TooManyConnectionsError,
)


def redacted(url: str) -> str:
    """``url`` without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


async def wait_for_redis(url: str, wait: float) -> None:
    what, fix = f"Redis at {redacted(url)}", "start Redis or fix SMSGW_REDIS_URL"

    async def ping() -> None:
        client = None
        try:
            client = await open_redis(url, timeout=ATTEMPT_TIMEOUT, connections=1, retries=0)
            await client.ping()
            await _warn_of_eager_expiry(client, what)
        except AuthenticationError as exc:
            raise StartupError(f"{what} refused us: {exc} — fix SMSGW_REDIS_URL") from None
        except REDIS_DOWN:
            raise
        except (RedisError, ValueError) as exc:  # ValueError: a bad ``cluster=`` in the URL
            raise StartupError(f"{what}: {exc} — fix SMSGW_REDIS_URL") from None
        finally:
            if client is not None:
                await client.aclose()

    await _waiting(what, fix, ping, REDIS_DOWN, wait)


async def _warn_of_eager_expiry(client: RedisClient, what: str) -> None:
    """Says so when Redis frees expired keys on its main thread: a settled-hold
    slice (one hash of a bucket's settled marks) then stalls every call while
    it is freed. Every primary of a cluster is asked (not only the one node
    RedisCluster would pick); a Redis that hides CONFIG (a managed one) is
    taken as it is."""
    try:
        if isinstance(client, RedisCluster):
            answers = await client.config_get(_LAZY_EXPIRE, target_nodes=RedisCluster.PRIMARIES)
            settings = list(answers.values())
        else:
            settings = [await client.config_get(_LAZY_EXPIRE)]
    except RedisError:
        return
    if any(setting.get(_LAZY_EXPIRE) == "no" for setting in settings):
        log.warning(
            "redis frees expired keys on its main thread",
            redis=what,
            fix="set lazyfree-lazy-expire yes (redis.conf or CONFIG SET)",
        )


async def wait_for_database(url: str, wait: float) -> None:
    """PostgreSQL answers and has every migration of this release (no other)."""
    what = f"PostgreSQL at {redacted(url)}"

    async def check() -> None:
        try:
            connection = await asyncpg.connect(url, timeout=ATTEMPT_TIMEOUT)
        except DATABASE_DOWN:
            raise
        except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise StartupError(f"{what} refused us: {exc} — fix SMSGW_DATABASE_URL") from None
        try:
            await check_schema(connection, what)
        finally:
            await connection.close()

    await _waiting(what, "start PostgreSQL or fix SMSGW_DATABASE_URL", check, DATABASE_DOWN, wait)


async def check_schema(connection: asyncpg.Connection, what: str) -> None:
    """Raises `StartupError` unless the applied migrations are exactly this release's."""
    try:
        shipped = {m.version: f"{m.version:04d}_{m.name}" for m in load_migrations()}
    except MigrationError as exc:
        raise StartupError(f"this release's migrations: {exc} — reinstall smsgw") from None
    try:
        rows = await connection.fetch("SELECT version, name FROM schema_migrations")
    except asyncpg.UndefinedTableError:
        rows = []
    applied = {row["version"]: f"{row['version']:04d}_{row['name']}" for row in rows}
    missing = [shipped[v] for v in sorted(shipped.keys() - applied.keys())]
    if missing:
        raise StartupError(
            f"{what} lacks migrations {', '.join(missing)} — run `smsgw migrate` first"
        )
    unknown = [applied[v] for v in sorted(applied.keys() - shipped.keys())]
    if unknown:
        raise StartupError(
            f"{what} has migrations {', '.join(unknown)} this release does not know "
            "— run the release that applied them"
        )


async def _waiting(
    what: str,
    fix: str,
    attempt: Callable[[], Awaitable[None]],
    transient: tuple[type[BaseException], ...],
    wait: float,
) -> None:
    """``attempt`` until it passes, retrying ``transient`` errors with backoff
    for ``wait`` seconds; one line on stderr when it first fails."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    failures = 0
    while True:
        try:
            await attempt()
            if failures:
                log.info("dependency reachable", dependency=what, attempts=failures + 1)
            return
        except transient as exc:
            failures += 1
            reason = _reason(exc)
            left = deadline - loop.time()
            if left <= 0:
                waited = f" after {wait:g} s" if wait else ""
                raise StartupError(f"{what} unreachable{waited} ({reason}) — {fix}") from None
            if failures == 1:
                print(
                    f"smsgw: {what} unreachable ({reason}); retrying for up to {wait:g} s",
                    file=sys.stderr,
                    flush=True,
                )
            delay = min(BACKOFF.compute(failures), left)
            log.warning("dependency unreachable", dependency=what, error=reason, retry_in=delay)
            await asyncio.sleep(delay)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
