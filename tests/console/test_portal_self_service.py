"""The portal's self-service pages in a real browser, as the demo customer
uses them: an API key issued and revoked (and then refused by the API), a
bad webhook URL refused next to its field, a number put on the opt-out list.

Every wait is on a condition, never on time; labels and numbers are unique
per run, since the dev process is shared by the session."""

from __future__ import annotations

import secrets

import httpx
import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, expect

from tests.console.conftest import DevGateway
from tests.console.test_flows import customer, submit, unique_number


def test_issue_and_revoke_a_key(page: Page, dev_gateway: DevGateway) -> None:
    customer(page, dev_gateway)
    page.goto("/portal/keys")
    label = f"browser {secrets.token_hex(3)}"
    page.locator("input[name=label]").fill(label)
    submit(page, "label")
    key = page.get_by_test_id("new-key").inner_text().strip()
    balance = dev_gateway.url("/v1/balance")
    bearer = {"Authorization": f"Bearer {key}"}
    assert httpx.get(balance, headers=bearer).status_code == 200

    row = page.locator("[data-testid^=key-]", has_text=label)
    expect(row).to_have_count(1)
    with page.expect_navigation():
        row.get_by_role("button", name="Revoke").click()
    row = page.locator("[data-testid^=key-]", has_text=label)
    expect(row.locator("[data-testid^=revoked-]")).not_to_be_empty()
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert httpx.get(balance, headers=bearer).status_code == 401


def test_a_bad_webhook_url_shows_its_error_next_to_the_field(
    page: Page, dev_gateway: DevGateway
) -> None:
    customer(page, dev_gateway)
    page.goto("/portal/webhooks")
    page.locator("input[name=webhook_url]").fill("ftp://example.com/hook")
    submit(page, "webhook_url")
    error = page.get_by_test_id("error-webhook_url")
    expect(error).to_contain_text("http")
    field = page.locator("input[name=webhook_url]")
    expect(field).to_have_attribute("aria-describedby", "e-webhook_url")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("ftp://example.com/hook")


def test_add_a_number_to_the_opt_out_list(page: Page, dev_gateway: DevGateway) -> None:
    customer(page, dev_gateway)
    page.goto("/portal/opt-outs")
    number = unique_number()
    page.locator("input[name=number]").fill(f"+{number}")
    submit(page, "number")
    expect(page.locator("[data-testid^=error-]")).to_have_count(0)
    expect(page.get_by_test_id(f"opt-out-{number}")).to_contain_text(f"+{number}")
    page.locator("input[name=q]").fill(number[-7:])
    with page.expect_navigation():
        page.locator("input[name=q]").press("Enter")
    expect(page.locator("[data-testid^=opt-out-]")).to_have_count(1)
