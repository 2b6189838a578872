"""The staff pages and the portal, through the same engine calls as the API."""

from __future__ import annotations

import asyncio

from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api


async def test_create_account_with_a_bad_id_shows_the_error(console: Api) -> None:
    client = console.client
    await log_in(client, "root")
    csrf = csrf_in(await client.get("/console/accounts"))
    answer = await client.post(
        "/console/accounts",
        data={"id": "no spaces!", "password": "", "credit_limit": "0", "csrf": csrf},
    )
    assert answer.status_code == 400
    assert 'class="error" data-testid="error-id"' in answer.text


async def test_create_account_then_top_up(console: Api) -> None:
    client = console.client
    await log_in(client, "root")
    csrf = csrf_in(await client.get("/console/accounts"))
    created = await client.post(
        "/console/accounts",
        data={"id": "acme", "password": "pw123", "credit_limit": "5", "csrf": csrf},
    )
    assert created.headers["location"] == "/console/accounts/acme"
    assert console.engine.account("acme") is not None
    page = await client.get("/console/accounts")
    assert 'data-testid="account-acme"' in page.text
    answer = await client.post(
        "/console/accounts/acme",
        data={"amount": "12.50", "reason": "first payment", "csrf": csrf},
    )
    assert answer.status_code == 303
    balance = await console.engine.balance("acme")
    assert balance is not None and balance.balance == 12_500_000
    assert "12.50" in (await client.get("/console/accounts/acme")).text


async def test_top_up_with_a_bad_amount_shows_the_error(console: Api) -> None:
    await log_in(console.client, "root")
    csrf = csrf_in(await console.client.get("/console/accounts/bank"))
    answer = await console.client.post(
        "/console/accounts/bank", data={"amount": "ten", "reason": "x", "csrf": csrf}
    )
    assert answer.status_code == 400
    assert 'data-testid="error-amount"' in answer.text


async def test_issue_api_key_shows_it_once_and_it_works(console: Api) -> None:
    await log_in(console.client, "root")
    csrf = csrf_in(await console.client.get("/console/accounts/bank"))
    answer = await console.client.post("/console/accounts/bank/api-keys", data={"csrf": csrf})
    key = answer.text.split('data-testid="new-key">')[1].split("<")[0]
    account = await console.engine.account_for_key(key)
    assert account is not None and account.id == "bank"
    assert key not in (await console.client.get("/console/accounts/bank")).text


async def test_connectors_fragment(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    fragment = await console.client.get("/console/fragments/connectors")
    assert 'data-testid="connectors"' in fragment.text
    assert 'data-testid="connector-op-0"' in fragment.text


async def test_portal_quote_send_and_history(console: Api) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    home = await client.get("/portal")
    assert 'data-testid="balance"' in home.text
    form = await client.get("/portal/send")
    preview = await client.get(
        "/portal/fragments/quote", params={"to": "+33612345678", "text": "hello"}
    )
    assert 'data-testid="preview-parts">1 part<' in preview.text
    sent = await client.post(
        "/portal/send", data={"to": "+33612345678", "text": "hello", "csrf": csrf_in(form)}
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/portal/messages"
    for _ in range(100):  # the simulated operator's receipt comes back
        fragment = await client.get("/portal/fragments/messages")
        if ">delivered<" in fragment.text:
            break
        await asyncio.sleep(0.05)
    assert 'data-testid="messages"' in fragment.text
    assert ">delivered<" in fragment.text
    csv = await client.get("/portal/messages.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "33612345678" in csv.text


async def test_portal_send_with_a_bad_number_shows_the_error(console: Api) -> None:
    await log_in(console.client, "bank-user", "portal")
    form = await console.client.get("/portal/send")
    answer = await console.client.post(
        "/portal/send", data={"to": "12", "text": "hi", "csrf": csrf_in(form)}
    )
    assert answer.status_code == 400
    assert 'data-testid="error-to"' in answer.text


async def test_a_customer_never_sees_another_account(console: Api) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    form = await client.get("/portal/send")
    await client.post(
        "/portal/send", data={"to": "+33612345678", "text": "bank's", "csrf": csrf_in(form)}
    )
    await client.post("/portal/logout", data={"csrf": csrf_in(form)})
    await log_in(client, "shop-user", "portal")
    history = await client.get("/portal/messages")
    assert "33612345678" not in history.text
    assert "33612345678" not in (await client.get("/portal/messages.csv")).text
    assert (await client.get("/console/accounts/bank")).status_code == 403


async def test_the_send_preview_shows_the_handset_coding_and_parts(console: Api) -> None:
    await log_in(console.client, "bank-user", "portal")
    text = "کد ورود شما ۴۸۲۹۱ است. " * 4
    preview = await console.client.get(
        "/portal/fragments/quote", params={"to": "+33612345678", "text": text}
    )
    assert 'data-testid="preview-coding">UCS-2<' in preview.text
    assert preview.text.count('<li dir="auto">') == 2
