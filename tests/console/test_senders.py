"""The sender-ID flow in a real browser (issue 19): the demo customer asks
for a sender ID, the admin approves it in the queue, the customer sends a
message from it; the message goes out from that sender.

Every wait is on a condition (Playwright's auto-waiting and `expect`). The
sender is unique per run: the dev process is shared by the session."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import TIMEOUT_MS, VIEWPORT, DevGateway
from tests.console.test_flows import admin, customer, submit, unique_number


def test_a_requested_sender_is_approved_then_used(
    page: Page, browser: Browser, dev_gateway: DevGateway, screenshot
) -> None:
    sender = "Br" + secrets.token_hex(4)
    customer(page, dev_gateway)
    page.goto("/portal/sender-ids")
    page.locator("[name=sender]").fill(sender)
    page.locator("[name=note]").fill("Our brand, for order updates")
    submit(page, "note")
    expect(page.get_by_test_id(f"state-{sender}")).to_have_text("requested")
    expect(page.get_by_test_id(f"send-from-{sender}")).to_have_count(0)

    staff = browser.new_context(base_url=dev_gateway.base_url, viewport=VIEWPORT)
    staff.set_default_timeout(TIMEOUT_MS)
    try:
        queue = staff.new_page()
        admin(queue, dev_gateway)
        queue.goto("/console/sender-ids?state=requested")
        row = queue.get_by_test_id(f"sender-demo-{sender}")
        expect(row).to_contain_text("Our brand, for order updates")
        screenshot(queue, "sender-ids")
        with queue.expect_navigation():
            queue.get_by_test_id(f"approve-demo-{sender}").click()
        expect(queue.get_by_test_id(f"state-demo-{sender}")).to_have_text("approved")
    finally:
        staff.close()

    page.goto("/portal/sender-ids")
    expect(page.get_by_test_id(f"state-{sender}")).to_have_text("approved")
    with page.expect_navigation():
        page.get_by_test_id(f"send-from-{sender}").click()
    expect(page).to_have_url(re.compile(rf"/portal/send\?sender={sender}$"))
    expect(page.get_by_test_id("sender")).to_have_value(sender)
    number = unique_number()
    page.locator("[name=to]").fill(number)
    page.locator("[name=text]").fill("Your order has shipped")
    submit(page, "text")
    expect(page).to_have_url(re.compile(r"/portal/messages$"))

    auth = {"Authorization": f"Bearer {dev_gateway.api_key}"}
    listed = httpx.get(dev_gateway.url("/v1/messages"), headers=auth, timeout=10)
    assert listed.status_code == 200, listed.text
    sent = [m for m in listed.json()["messages"] if m["to"] == number]
    assert [m["from"] for m in sent] == [sender]
