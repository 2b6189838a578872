"""Console users in a real browser (issue 19): the admin creates a support
user who reads but cannot change; an admin enrols TOTP and logs in with a
code. The shared `smsgw dev` admin itself never gets TOTP (other tests log
in as it): a second admin, made here, does."""

from __future__ import annotations

import re
import secrets
import time

import pyotp
import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import DevGateway
from tests.console.test_flows import admin, log_in

PASSWORD = "a long enough password"


def create_user(page: Page, role: str) -> str:
    name = f"{role}-{secrets.token_hex(3)}"
    page.goto("/console/users")
    form = page.locator("form[action='/console/users']")
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=role]").select_option(role)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.get_by_test_id(f"user-{name}")).to_contain_text(role)
    return name


def log_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_test_id("logout").click()


def test_a_support_user_reads_but_cannot_change(
    page: Page, browser: Browser, dev_gateway: DevGateway
) -> None:
    admin(page, dev_gateway)
    page.goto("/console/users")
    form = page.locator("form[action='/console/users']")
    form.locator("input[name=name]").fill("bad name!")
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("error-name")).to_be_visible()
    name = create_user(page, "support")

    context = browser.new_context(base_url=dev_gateway.base_url)
    try:
        support = context.new_page()
        log_in(support, "console", name, PASSWORD)
        support.goto("/console/accounts")
        expect(support.get_by_test_id("accounts")).to_be_visible()
        expect(support.locator("form[action='/console/accounts']")).to_have_count(0)
        # A change anyway (a form built by hand, with the session's own token): refused.
        with support.expect_navigation():
            support.evaluate(
                """() => {
                    const form = document.createElement("form");
                    form.method = "post";
                    form.action = "/console/accounts";
                    for (const [k, v] of [["id", "sneaky"], ["credit_limit", "0"],
                            ["csrf", document.querySelector("input[name=csrf]").value]]) {
                        const input = document.createElement("input");
                        input.name = k; input.value = v; form.appendChild(input);
                    }
                    document.body.appendChild(form);
                    form.submit();
                }"""
            )
        expect(support.locator("main")).to_contain_text("Your role may not open this page.")
        support.goto("/console/accounts")
        expect(support.get_by_test_id("account-sneaky")).to_have_count(0)
    finally:
        context.close()


def test_an_admin_enrols_totp_and_logs_in_with_a_code(page: Page, dev_gateway: DevGateway) -> None:
    admin(page, dev_gateway)
    name = create_user(page, "admin")
    log_out(page)
    log_in(page, "console", name, PASSWORD)
    page.goto("/console/totp")
    expect(page.get_by_test_id("totp-state")).to_contain_text("TOTP is off")
    with page.expect_navigation():
        page.get_by_test_id("totp-start").click()
    secret = page.get_by_test_id("totp-secret").inner_text()
    expect(page.get_by_test_id("totp-uri")).to_contain_text(f"otpauth://totp/smsgw:{name}")
    page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.locator("input[name=code]").press("Enter")
    expect(page.get_by_test_id("totp-state")).to_contain_text("TOTP is on")
    log_out(page)

    page.goto("/console/login")
    page.locator("input[name=username]").fill(name)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("input[name=password]").press("Enter")
    code = page.locator("input[name=code]")
    expect(code).to_be_visible()
    code.fill(pyotp.TOTP(secret).at(time.time() + 30))  # the enrolment used the current step
    with page.expect_navigation():
        code.press("Enter")
    expect(page).to_have_url(re.compile(r"/console$"))
    page.goto("/console/users")
    expect(page.get_by_test_id(f"user-{name}")).to_contain_text("on")
