"""A reseller in a real browser (issue 19): it logs in to the portal, sees
only its own sub-accounts, moves credit down, and a bad amount shows its
error next to the field. `smsgw dev` has a demo reseller ("reseller") with
one sub-account ("shop"); other resellers' accounts are made over HTTP."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, expect

from tests.console.conftest import DevGateway
from tests.console.test_flows import log_in, submit


def reseller(page: Page, dev: DevGateway) -> None:
    if not dev.reseller_username:
        pytest.fail(f"no reseller login in the banner of smsgw dev:\n{dev.banner}")
    log_in(page, "portal", dev.reseller_username, dev.reseller_password)


def test_a_reseller_sees_only_its_sub_accounts_and_moves_credit_down(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    reseller(page, dev_gateway)
    page.get_by_role("link", name="Sub-accounts").click()
    page.wait_for_url(re.compile(r"/portal/sub-accounts$"))
    table = page.get_by_test_id("sub-accounts")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("sub-shop")).to_be_visible()
    expect(table).not_to_contain_text(dev_gateway.demo_account)  # a customer, no sub-account
    before = page.get_by_test_id("balance-shop").inner_text()

    page.locator("select[name=sub]").select_option("shop")
    page.locator("input[name=amount]").fill("1.5")
    submit(page, "amount")
    page.wait_for_url(re.compile(r"/portal/sub-accounts$"))
    expect(page.get_by_test_id("balance-shop")).not_to_have_text(before)
    expect(page.get_by_test_id("balance-shop")).to_contain_text("1.50")
    screenshot(page, "portal-sub-accounts")


def test_a_bad_amount_shows_its_error_next_to_the_field(
    page: Page, dev_gateway: DevGateway
) -> None:
    reseller(page, dev_gateway)
    page.goto("/portal/sub-accounts")
    page.locator("input[name=amount]").fill("a lot")
    submit(page, "amount")
    error = page.get_by_test_id("error-amount")
    expect(error).to_contain_text("Enter a number")
    expect(page.locator("input[name=amount]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("input[name=amount]")).to_have_value("a lot")
    page.locator("input[name=amount]").fill("100000")  # far beyond the reseller's credit
    submit(page, "amount")
    expect(page.get_by_test_id("error-amount")).to_contain_text("too little credit")


def test_a_customer_has_no_sub_accounts_page(page: Page, dev_gateway: DevGateway) -> None:
    log_in(page, "portal", dev_gateway.portal_username, dev_gateway.portal_password)
    expect(page.get_by_role("link", name="Sub-accounts")).to_have_count(0)
    response = page.goto("/portal/sub-accounts")
    assert response is not None and response.status == 403
