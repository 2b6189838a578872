"""The admin pages in a real browser (issue 19): an admin disables an
account and sets its IP allow-list, a bad CIDR shows its error next to its
field, and the routing page explains a number's route and price.

The account is a new one per test (the `smsgw dev` process is shared); every
wait is on a condition, never on time.
"""

from __future__ import annotations

import re
import secrets

import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, expect

from tests.console.conftest import DevGateway
from tests.console.test_flows import admin, submit, unique_number


def new_account(page: Page) -> str:
    account = f"ip{secrets.token_hex(3)}"
    page.goto("/console/accounts")
    page.locator("input[name=id]").fill(account)
    page.locator("input[name=credit_limit]").fill("0")
    submit(page, "id")
    expect(page).to_have_url(re.compile(rf"/console/accounts/{account}$"))
    return account


def test_an_admin_disables_an_account_and_sets_its_ip_list(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    admin(page, dev_gateway)
    account = new_account(page)
    expect(page.get_by_test_id("state")).to_have_text("enabled")
    settings = page.get_by_test_id("settings")

    # A bad CIDR: its error next to the field, and nothing saved.
    settings.locator("[name=allowed_ips]").fill("192.0.2.0/24\n10.0.0.1/8")
    submit(page, "allowed_ips")
    error = page.get_by_test_id("error-allowed_ips")
    expect(error).to_contain_text("10.0.0.1/8")
    expect(page.locator("#f-allowed_ips + #e-allowed_ips")).to_have_count(1)  # right after it
    expect(page.locator("[data-testid^=error-]")).to_have_count(1)
    expect(page.get_by_test_id("allowed-ips")).to_have_text("any")
    screenshot(page, "account-settings-error")

    # Fixed, and the account disabled in the same save.
    settings = page.get_by_test_id("settings")
    settings.locator("[name=allowed_ips]").fill("192.0.2.0/24\n10.0.0.0/8")
    settings.locator("[name=enabled]").uncheck()
    submit(page, "allowed_ips")
    expect(page.get_by_test_id("saved")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("disabled")
    expect(page.get_by_test_id("allowed-ips")).to_have_text("192.0.2.0/24, 10.0.0.0/8")
    screenshot(page, "account-settings")

    page.goto("/console/accounts")
    expect(page.get_by_test_id(f"disabled-{account}")).to_be_visible()


def test_the_routing_page_explains_a_number(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    admin(page, dev_gateway)
    page.goto("/console")  # its connectors refresh live: wait until the route is usable
    expect(page.get_by_test_id("connector-state-simulator")).to_have_text("bound")
    page.goto("/console/routing")
    expect(page.get_by_test_id("routing-tariffs")).to_contain_text("demo")
    form = page.get_by_test_id("explain-form")
    form.locator("[name=to]").fill(unique_number())
    form.locator("[name=account]").select_option(dev_gateway.demo_account)
    with page.expect_navigation():
        page.get_by_test_id("explain").click()
    expect(page.get_by_test_id("explain-route")).to_have_text("everything")
    expect(page.get_by_test_id("explain-connectors")).to_have_text("simulator")
    expect(page.get_by_test_id("explain-price")).to_contain_text("0.04 EUR")
    screenshot(page, "routing")
