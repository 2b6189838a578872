"""Message templates in a real browser (issue 19): the demo customer creates
a template, fills its variables, watches the live preview (text, parts,
price), sends it and finds the message in /portal/messages.

Every wait is on a condition, never on time; the template's name and the
number are unique per run (the dev process is shared by the folder).
"""

from __future__ import annotations

import re
import secrets

import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, expect

from tests.console.conftest import DevGateway
from tests.console.test_flows import customer, submit, unique_number


def test_a_customer_creates_fills_previews_and_sends_a_template(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    customer(page, dev_gateway)
    name = f"Delivery {secrets.token_hex(3)}"
    page.goto("/portal/templates")
    expect(page.get_by_test_id("templates")).to_contain_text("OTP")  # the demo's own

    page.locator("[name=name]").fill(name)
    page.locator("[name=body]").fill("Hi {{ who }}")
    submit(page, "body")
    expect(page.get_by_test_id("error-body")).to_contain_text("is not a placeholder")

    page.locator("[name=name]").fill(name)
    page.locator("[name=body]").fill("Hi {{who}}, parcel {{parcel}} arrives today.")
    submit(page, "body")
    expect(page).to_have_url(re.compile(r"/portal/templates/[0-9a-f]{16}$"))
    expect(page.get_by_role("heading", name=name)).to_be_visible()

    preview = page.get_by_test_id("preview-text")
    expect(preview).to_have_text("Hi {{who}}, parcel {{parcel}} arrives today.")
    number = unique_number()
    page.locator("[name=to]").fill(number)
    page.locator("[name=v_who]").fill("Ana")
    expect(preview).to_have_text("Hi Ana, parcel {{parcel}} arrives today.")
    page.locator("[name=v_parcel]").fill("PX-42")
    expect(preview).to_have_text("Hi Ana, parcel PX-42 arrives today.")
    expect(page.get_by_test_id("preview-parts")).to_have_text("1 part")
    expect(page.get_by_test_id("preview-price")).to_have_text(re.compile(r"\d\.\d+ EUR"))
    screenshot(page, "template-fill")

    submit(page, "v_parcel")
    expect(page).to_have_url(re.compile(r"/portal/messages$"))
    row = page.locator("[data-testid^=message-]", has_text=number[-7:])
    expect(row).to_have_count(1)

    page.goto("/portal/templates")
    expect(page.get_by_test_id("templates")).to_contain_text(name)
    with page.expect_navigation():
        page.get_by_test_id(f"delete-{name}").click()
    expect(page.get_by_test_id("templates")).not_to_contain_text(name)
