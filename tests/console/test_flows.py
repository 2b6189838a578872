"""The console and the portal in a real browser, as an admin and a customer
use them (issue 19): `smsgw dev` as a process, Debian's chromium.

Every wait is on a condition (Playwright's auto-waiting and `expect`), never
on time. Ids and numbers are unique per test: the dev process is shared by
the session.
"""

from __future__ import annotations

import csv
import io
import re
import secrets

import httpx
import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, expect

from tests.console.conftest import DevGateway


def unique_number() -> str:
    return "3361" + "".join(secrets.choice("0123456789") for _ in range(7))


def log_in(page: Page, door: str, username: str, password: str) -> None:
    """The login form of /console or /portal, submitted; waits for the home page."""
    page.goto(f"/{door}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(re.compile(rf"/{door}(?:[/?#]|$)(?!login)"))
    expect(page).not_to_have_url(re.compile(r"/login"))


def admin(page: Page, dev: DevGateway) -> None:
    if not dev.admin_username:
        pytest.fail(f"no admin login in the banner of smsgw dev:\n{dev.banner}")
    log_in(page, "console", dev.admin_username, dev.admin_password)


def customer(page: Page, dev: DevGateway) -> None:
    if not dev.portal_username:
        pytest.fail(f"no portal login in the banner of smsgw dev:\n{dev.banner}")
    log_in(page, "portal", dev.portal_username, dev.portal_password)


def submit(page: Page, field: str) -> None:
    """Submits the form holding input ``field`` (server-side checks: no
    client-side validation in the way)."""
    form = page.locator(f"form:has([name={field}])").first
    form.evaluate("form => { form.noValidate = true; }")
    with page.expect_navigation():
        form.locator("button[type=submit], input[type=submit], button:not([type])").first.click()


def create_account(page: Page, dev: DevGateway, screenshot=None) -> tuple[str, str]:
    """As the logged-in admin: a new account, topped up, with an API key.
    Returns (id, key)."""
    account = f"acme{secrets.token_hex(3)}"
    page.goto("/console/accounts")
    expect(page.get_by_test_id("accounts")).to_be_visible()
    page.locator("input[name=id]").fill(account)
    page.locator("input[name=password]").fill(secrets.token_hex(4))  # SMPP: 8 at most
    page.locator("input[name=credit_limit]").fill("0")
    submit(page, "credit_limit")
    expect(page.locator("[data-testid^=error-]")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/console/accounts/{account}$"))
    page.goto("/console/accounts")
    expect(page.get_by_test_id("accounts")).to_contain_text(account)
    if screenshot is not None:
        screenshot(page, "accounts")

    page.goto(f"/console/accounts/{account}")
    page.locator("input[name=amount]").fill("5")
    page.locator("input[name=reason]").fill("browser test top-up")
    submit(page, "amount")
    expect(page.locator("[data-testid^=error-]")).to_have_count(0)
    expect(page.get_by_test_id("balance")).to_contain_text("5.00")

    page.get_by_role("button", name=re.compile("Issue API key", re.I)).click()
    new_key = page.get_by_test_id("new-key")
    expect(new_key).to_have_text(re.compile(r"\S{16,}"))
    key = re.search(r"\S{16,}", new_key.inner_text())
    assert key is not None
    return account, key[0]


def test_an_admin_creates_an_account_tops_it_up_and_issues_a_key(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    page.goto("/console/login")
    expect(page.locator("input[name=username]")).to_be_visible()
    expect(page.locator("input[name=csrf]")).to_have_count(1)
    screenshot(page, "login")
    admin(page, dev_gateway)
    page.goto("/console")
    expect(page.get_by_test_id("connectors")).to_be_visible()
    screenshot(page, "dashboard")

    _, key = create_account(page, dev_gateway, screenshot)

    # The key works, and the top-up is the new account's balance.
    auth = {"Authorization": f"Bearer {key}"}
    balance = httpx.get(dev_gateway.url("/v1/balance"), headers=auth, timeout=10)
    assert balance.status_code == 200, balance.text
    assert balance.json()["balance"] > 0


def test_a_customer_sends_sees_it_delivered_live_and_downloads_the_csv(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    customer(page, dev_gateway)
    page.goto("/portal")
    expect(page.get_by_test_id("balance")).to_be_visible()
    screenshot(page, "portal")

    number = unique_number()
    page.goto("/portal/send")
    preview = page.get_by_test_id("preview")
    before = preview.inner_text()
    page.locator("[name=to]").fill(number)
    page.locator("[name=text]").fill("Hello from the browser test")
    expect(preview).not_to_have_text(before)
    screenshot(page, "send")
    submit(page, "text")

    page.goto("/portal/messages")
    row = page.locator("[data-testid^=message-]", has_text=number[-7:])
    expect(row).to_have_count(1)
    message_id = row.get_attribute("data-testid").removeprefix("message-")
    # Refreshed by htmx: no reload between here and `delivered`.
    page.evaluate("window.__not_reloaded = true")
    expect(page.get_by_test_id(f"state-{message_id}")).to_have_text(
        re.compile("delivered", re.I), timeout=30_000
    )
    assert page.evaluate("window.__not_reloaded") is True
    screenshot(page, "messages")

    with page.expect_download() as download_info:
        page.locator("a[href*='/portal/messages.csv']").first.click()
    download = download_info.value
    text = download.path().read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert any(message_id in cells for cells in rows), text[:2000]


def test_a_customer_is_refused_the_console_and_other_accounts_messages(
    page: Page, browser, dev_gateway: DevGateway
) -> None:
    # Another account sends a message, over the API with a key the admin issued.
    admin(page, dev_gateway)
    account, key = create_account(page, dev_gateway)
    sent = httpx.post(
        dev_gateway.url("/v1/messages"),
        json={"to": unique_number(), "from": "Acme", "text": "not for demo"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert sent.status_code in (200, 201, 202), sent.text
    body = sent.json()
    other = body.get("id") or body.get("message_id") or body["messages"][0]["id"]

    context = browser.new_context(base_url=dev_gateway.base_url)
    try:
        page = context.new_page()
        customer(page, dev_gateway)
        response = page.goto("/console")
        assert response is not None
        assert response.status == 403 or "/console" not in page.url.split("?")[0].rstrip("/")
        expect(page.get_by_test_id("connectors")).to_have_count(0)
        response = page.goto(f"/console/accounts/{account}")
        assert (response is not None and response.status in (403, 404)) or "/login" in page.url
        expect(page.get_by_test_id("new-key")).to_have_count(0)

        page.goto("/portal/messages")
        expect(page.get_by_test_id("messages")).to_be_visible()
        expect(page.get_by_test_id(f"message-{other}")).to_have_count(0)
        response = page.goto(f"/portal/messages/{other}")
        assert response is not None and response.status in (403, 404)
        csv_text = context.request.get("/portal/messages.csv").text()
        assert other not in csv_text
    finally:
        context.close()


def test_a_bad_account_id_is_shown_next_to_its_field(page: Page, dev_gateway: DevGateway) -> None:
    admin(page, dev_gateway)
    page.goto("/console/accounts")
    page.locator("input[name=id]").fill("not a valid id!")
    page.locator("input[name=password]").fill(secrets.token_hex(4))
    page.locator("input[name=credit_limit]").fill("0")
    submit(page, "credit_limit")
    error = page.get_by_test_id("error-id")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(page.locator("input[name=id]")).to_have_value("not a valid id!")
