"""The sender-ID pages over HTTP: a customer asks in the portal, staff see
the queue (support read-only), an admin approves or rejects (a reason
required, shown next to its field), and the portal's send form offers the
approved senders and takes its fields from the query."""

from __future__ import annotations

import html

import httpx
import pytest

from engine import AccountChanges, SenderRegistry
from engine.senders.install import install_senders
from engine.senders.store import MemorySenderStore
from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api


@pytest.fixture
async def registry(console: Api) -> SenderRegistry:
    installed = await install_senders(console.engine.gateway, MemorySenderStore())
    console.engine.platform.senders = installed
    return installed


async def ask(client: httpx.AsyncClient, sender: str, note: str = "") -> httpx.Response:
    form = await client.get("/portal/sender-ids")
    data = {"sender": sender, "note": note, "csrf": csrf_in(form)}
    return await client.post("/portal/sender-ids", data=data)


async def decide(
    client: httpx.AsyncClient, action: str, account: str, sender: str, reason: str = ""
) -> httpx.Response:
    queue = await client.get("/console/sender-ids")
    data = {"account": account, "sender": sender, "reason": reason, "csrf": csrf_in(queue)}
    return await client.post(f"/console/sender-ids/{action}", data=data)


async def test_a_customer_asks_and_sees_what_is_wrong(
    console: Api, registry: SenderRegistry
) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    asked = await ask(client, "MyBank", "our brand")
    assert asked.status_code == 303 and asked.headers["location"] == "/portal/sender-ids"
    page = await client.get("/portal/sender-ids")
    assert 'data-testid="state-MyBank">requested<' in page.text
    assert "our brand" in page.text

    wrong = await ask(client, "Much too long")
    assert wrong.status_code == 400
    assert 'data-testid="error-sender">an alphanumeric sender has at most 11' in wrong.text
    again = await ask(client, "MyBank")
    assert again.status_code == 400
    assert "requested for &#39;bank&#39; already" in again.text
    [entry] = await registry.entries()
    assert (entry.account, entry.requested_by) == ("bank", "console:bank-user")

    form = await client.get("/portal/sender-ids")
    forged = await client.post(
        "/portal/sender-ids", data={"sender": "Other", "csrf": "x" + csrf_in(form)}
    )
    assert forged.status_code == 403


async def test_the_admin_decides_in_the_queue(console: Api, registry: SenderRegistry) -> None:
    await registry.request("bank", "MyBank", "our brand", by="api")
    await registry.request("shop", "ShopCo", by="api")
    client = console.client
    await log_in(client, "root")
    queue = await client.get("/console/sender-ids?state=requested")
    assert queue.status_code == 200
    assert 'data-testid="approve-bank-MyBank"' in queue.text

    no_reason = await decide(client, "reject", "shop", "ShopCo")
    assert no_reason.status_code == 400
    assert 'data-testid="error-reason">Say why' in no_reason.text
    assert (await decide(client, "approve", "bank", "MyBank")).status_code == 303
    assert registry.is_approved("bank", "MyBank")
    rejected = await decide(client, "reject", "shop", "ShopCo", "brand not shown")
    assert rejected.status_code == 303
    [shop] = await registry.entries(account="shop")
    assert (shop.state, shop.reason, shop.decided_by) == (
        "rejected",
        "brand not shown",
        "console:root",
    )
    audit = [(e.actor, e.action) for e in await console.engine.admin.audit.recent(10)]
    assert ("console:root", "sender_id.approve") in audit
    assert ("console:root", "sender_id.reject") in audit

    registered = await decide(client, "approve", "shop", "36000")
    assert registered.status_code == 303 and registry.is_approved("shop", "36000")
    unknown = await decide(client, "approve", "nobody", "X")
    assert unknown.status_code == 400 and 'data-testid="error-account"' in unknown.text
    bad = await decide(client, "approve", "shop", "Bad/Sender")
    assert bad.status_code == 400 and 'data-testid="error-sender"' in bad.text


async def test_support_reads_the_queue_and_may_not_decide(
    console: Api, registry: SenderRegistry
) -> None:
    await registry.request("bank", "MyBank", by="api")
    client = console.client
    await log_in(client, "helpdesk")
    queue = await client.get("/console/sender-ids")
    assert 'data-testid="sender-bank-MyBank"' in queue.text
    assert "approve-bank-MyBank" not in queue.text
    assert (await decide(client, "approve", "bank", "MyBank")).status_code == 403
    assert not registry.is_approved("bank", "MyBank")
    client.cookies.clear()
    await log_in(client, "bank-user", "portal")
    assert (await client.get("/console/sender-ids")).status_code == 403


async def test_the_send_form_offers_the_approved_senders(
    console: Api, registry: SenderRegistry
) -> None:
    await console.engine.admin.update_account(
        "bank", AccountChanges(sender_policy="refuse", default_sender="Bank")
    )
    await registry.approve("bank", "MyBank", by="admin")
    client = console.client
    await log_in(client, "bank-user", "portal")
    form = await client.get(
        "/portal/send", params={"to": "+33612345678", "text": "Hi & bye", "sender": "MyBank"}
    )
    assert '<option value="Bank" >Bank</option>' in form.text
    assert '<option value="MyBank" selected>MyBank</option>' in form.text
    assert (
        'value="+33612345678"' in form.text
        and f">{html.escape('Hi & bye')}</textarea>" in form.text
    )

    data = {"to": "+33612345678", "text": "hello", "csrf": csrf_in(form)}
    other = await client.post("/portal/send", data={**data, "sender": "Unknown"})
    assert other.status_code == 400 and 'data-testid="error-sender"' in other.text
    sent = await client.post("/portal/send", data={**data, "sender": "MyBank"})
    assert sent.status_code == 303, sent.text

    await client.post("/portal/logout", data={"csrf": csrf_in(form)})
    await log_in(client, "shop-user", "portal")
    shop = await client.get("/portal/send")
    assert '<option value="smsgw" >smsgw</option>' in shop.text  # none approved: the fallback
