"""The audit log read a page at a time, the same on memory and on Redis."""

from __future__ import annotations

import pytest

from engine.admin.audit import AuditLog, acting_as
from engine.console import AuditFilter, audit_page, audit_pages
from ledger.redis_client import RedisClient
from tests.cluster import redis_either_fixture, redis_url_fixture  # noqa: F401
from tests.services import namespace_fixture  # noqa: F401


@pytest.fixture(params=["memory", "redis"])
async def log(
    request: pytest.FixtureRequest, redis_client: RedisClient, namespace: str
) -> AuditLog:
    audit = AuditLog(namespace, None if request.param == "memory" else redis_client, 1000)
    for n in range(7):
        with acting_as("console:root" if n % 2 else "admin-api"):
            await audit.record("account.update", "bank" if n % 3 else "shop", n=n)
    return audit


async def test_pages_newest_first_until_the_start(log: AuditLog) -> None:
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = await audit_page(log, AuditFilter(), cursor, 3)
        seen += [entry.detail["n"] for entry in page.entries]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [6, 5, 4, 3, 2, 1, 0]


async def test_filters_combine(log: AuditLog) -> None:
    page = await audit_page(log, AuditFilter(actor="console:root", account="bank"), None, 10)
    assert [e.detail["n"] for e in page.entries] == [5, 1]
    assert page.next_cursor is None
    page = await audit_page(log, AuditFilter(action="credit."), None, 10)
    assert page.entries == []


async def test_a_small_batch_reads_on(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_pages, "BATCH", 2)
    page = await audit_page(log, AuditFilter(account="shop"), None, 10)
    assert [e.detail["n"] for e in page.entries] == [6, 3, 0]
