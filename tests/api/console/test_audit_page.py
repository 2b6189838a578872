"""The audit log page: newest first, filters, pages; staff only."""

from __future__ import annotations

from api.console import staff_audit
from engine import acting_as
from tests.api.console.conftest import log_in
from tests.api.harness import Api


async def _record(console: Api, count: int) -> None:
    audit = console.engine.admin.audit
    for n in range(count):
        with acting_as("console:root" if n % 2 else "admin-api"):
            await audit.record("account.update", "bank" if n % 2 else "shop", n=n)


async def test_newest_first_for_support(console: Api) -> None:
    await _record(console, 3)
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/audit")
    assert page.status_code == 200
    assert page.text.index("n=2") < page.text.index("n=1") < page.text.index("n=0")


async def test_filters_by_actor_action_and_account(console: Api) -> None:
    await _record(console, 4)
    await log_in(console.client, "root")
    page = await console.client.get("/console/audit", params={"actor": "console:root"})
    assert "n=1" in page.text and "n=3" in page.text and "n=2" not in page.text
    page = await console.client.get("/console/audit", params={"account": "shop"})
    assert "n=0" in page.text and "n=1" not in page.text
    page = await console.client.get("/console/audit", params={"action": "credit."})
    assert page.text.count('class="audit-entry"') == 0


async def test_pages_go_older(console: Api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(staff_audit, "PAGE_SIZE", 2)
    await _record(console, 5)
    await log_in(console.client, "root")
    first = await console.client.get("/console/audit")
    assert first.text.count('class="audit-entry"') == 2 and "n=4" in first.text
    older = first.text.split('href="')[-1]
    link = [part for part in first.text.split('"') if part.startswith("/console/audit?before=")]
    assert link, older
    second = await console.client.get(link[0].replace("&amp;", "&"))
    assert "n=2" in second.text and "n=1" in second.text and "n=4" not in second.text


async def test_customers_cannot_read_it(console: Api) -> None:
    await log_in(console.client, "bank-user", "portal")
    assert (await console.client.get("/console/audit")).status_code == 403
