"""The portal's templates page over HTTP: a customer keeps its own templates,
fills one with a live preview (text, parts, price) and sends it; errors show
next to their field; another account's template is never found."""

from __future__ import annotations

import httpx

from api.console.render import money
from engine import AccountChanges, MessageSearch
from engine.message_templates import MemoryTemplateStore, MessageTemplates
from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api
from tests.engine.gateway_harness import CREDIT, PRICE

OTP = "Your code is {{code}}. Valid {{minutes}} minutes."
FR = "+33612345678"


def with_templates(api: Api) -> MessageTemplates:
    templates = MessageTemplates(MemoryTemplateStore())
    api.engine.platform.templates = templates
    return templates


async def create(client: httpx.AsyncClient, name: str, body: str) -> httpx.Response:
    page = await client.get("/portal/templates")
    form = {"name": name, "body": body, "csrf": csrf_in(page)}
    return await client.post("/portal/templates", data=form)


async def test_a_customer_creates_fills_previews_and_sends_a_template(console: Api) -> None:
    templates = with_templates(console)
    client = console.client
    await log_in(client, "bank-user", "portal")
    answer = await create(client, "OTP", OTP)
    assert answer.status_code == 303
    [saved] = await templates.list("bank")
    assert answer.headers["location"] == f"/portal/templates/{saved.id}"
    listing = await client.get("/portal/templates")
    assert 'data-testid="use-OTP"' in listing.text and "code, minutes" in listing.text

    page = await client.get(f"/portal/templates/{saved.id}")
    assert page.status_code == 200
    assert 'name="v_code"' in page.text and 'name="v_minutes"' in page.text

    preview = await client.get(
        f"/portal/templates/{saved.id}/preview", params={"to": FR, "v_code": "4242"}
    )
    assert "Your code is 4242. Valid {{minutes}} minutes." in preview.text
    assert "preview-price" not in preview.text
    preview = await client.get(
        f"/portal/templates/{saved.id}/preview",
        params={"to": FR, "v_code": "4242", "v_minutes": "5"},
    )
    assert "Your code is 4242. Valid 5 minutes." in preview.text
    assert 'data-testid="preview-parts">1 part<' in preview.text
    assert f'data-testid="preview-price">{money(PRICE, "EUR")}<' in preview.text

    form = {"to": FR, "v_code": "4242", "v_minutes": "5", "csrf": csrf_in(page)}
    answer = await client.post(f"/portal/templates/{saved.id}", data=form)
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/messages"
    balance = await console.engine.balance("bank")
    assert balance is not None and balance.available == CREDIT - PRICE


async def test_errors_show_next_to_their_fields(console: Api) -> None:
    templates = with_templates(console)
    client = console.client
    await log_in(client, "bank-user", "portal")
    answer = await create(client, "", "Hi {{ name }}")
    assert answer.status_code == 400
    assert 'data-testid="error-name"' in answer.text
    assert 'data-testid="error-body"' in answer.text and "is not a placeholder" in answer.text
    assert await templates.list("bank") == []

    saved = await templates.create("bank", "OTP", OTP)
    page = await client.get(f"/portal/templates/{saved.id}")
    form = {"to": "12", "v_code": "x" * 200, "v_minutes": "", "csrf": csrf_in(page)}
    answer = await client.post(f"/portal/templates/{saved.id}", data=form)
    assert answer.status_code == 400
    assert 'data-testid="error-to"' in answer.text
    assert 'data-testid="error-v_code"' in answer.text and "too long" in answer.text
    assert 'data-testid="error-v_minutes"' in answer.text


async def test_a_customer_deletes_its_own_and_never_sees_anothers(console: Api) -> None:
    templates = with_templates(console)
    theirs = await templates.create("shop", "Shop", "Hello {{name}}")
    mine = await templates.create("bank", "OTP", OTP)
    client = console.client
    await log_in(client, "bank-user", "portal")
    listing = await client.get("/portal/templates")
    assert "Shop" not in listing.text
    assert (await client.get(f"/portal/templates/{theirs.id}")).status_code == 404
    token = csrf_in(listing)
    answer = await client.post(f"/portal/templates/{theirs.id}/delete", data={"csrf": token})
    assert answer.status_code == 303
    assert await templates.get("shop", theirs.id) == theirs
    answer = await client.post(f"/portal/templates/{mine.id}/delete", data={"csrf": token})
    assert answer.status_code == 303 and await templates.list("bank") == []
    answer = await client.post(f"/portal/templates/{mine.id}/delete", data={"csrf": "forged"})
    assert answer.status_code == 403


async def test_staff_and_strangers_are_kept_out(console: Api) -> None:
    with_templates(console)
    client = console.client
    answer = await client.get("/portal/templates")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/portal/login")
    await log_in(client, "root")
    assert (await client.get("/portal/templates")).status_code == 403


async def test_a_template_goes_from_the_accounts_own_sender(console: Api) -> None:
    templates = with_templates(console)
    await console.engine.admin.update_account("bank", AccountChanges(default_sender="MyBank"))
    saved = await templates.create("bank", "OTP", OTP)
    client = console.client
    await log_in(client, "bank-user", "portal")
    page = await client.get(f"/portal/templates/{saved.id}")
    form = {"to": FR, "v_code": "4242", "v_minutes": "5", "csrf": csrf_in(page)}
    answer = await client.post(f"/portal/templates/{saved.id}", data=form)
    assert answer.status_code == 303
    found = await console.engine.search_messages(MessageSearch(account="bank"), None, 10)
    assert found is not None and [m.source for m in found.items] == ["MyBank"]
