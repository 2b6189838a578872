"""The admin's message search, timeline and opt-out lists in a real browser
(issue 19): `smsgw dev` as a process, Debian's chromium. Every wait is for a
condition (with a deadline), no assert is on time; numbers are unique per test
(the dev process is shared)."""

from __future__ import annotations

import re
import time

import httpx
import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, expect

from tests.console.conftest import DevGateway
from tests.console.test_flows import admin, unique_number


def delivered(dev: DevGateway, message_id: str) -> None:
    """Waits until the API says the simulator's receipt came (within moments)."""
    auth = {"Authorization": f"Bearer {dev.api_key}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = httpx.get(dev.url(f"/v1/messages/{message_id}"), headers=auth, timeout=10)
        if answer.status_code == 200 and answer.json().get("state") == "delivered":
            return
        time.sleep(0.1)
    raise AssertionError(f"{message_id} was not delivered: {answer.text}")


def test_the_admin_finds_a_demo_message_by_number_and_opens_its_timeline(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    number = unique_number()
    sent = httpx.post(
        dev_gateway.url("/v1/messages"),
        json={"to": number, "from": "Demo", "text": "find me"},
        headers={"Authorization": f"Bearer {dev_gateway.api_key}"},
        timeout=10,
    )
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["messages"][0]["id"]

    admin(page, dev_gateway)
    page.goto("/console/messages")
    search = page.get_by_test_id("search-messages")
    search.locator("input[name=number]").fill(f"+{number}")
    search.locator("button[type=submit]").click()
    link = page.get_by_test_id(f"open-{message_id}")
    expect(link).to_be_visible()
    expect(page.locator("[data-testid^=open-]")).to_have_count(1)  # only that number's
    expect(page).to_have_url(re.compile(r"number="))
    screenshot(page, "admin-messages")

    delivered(dev_gateway, message_id)
    link.click()
    expect(page).to_have_url(re.compile(rf"/console/messages/{message_id}$"))
    expect(page.get_by_test_id("message-to")).to_have_text(number)
    timeline = page.get_by_test_id("timeline")
    for step in ("accepted", "submitted", "delivered"):
        expect(timeline).to_contain_text(step)
    expect(timeline).to_contain_text("charged")
    screenshot(page, "admin-message-timeline")


def test_the_admin_adds_a_number_to_the_global_opt_out_list(
    page: Page, dev_gateway: DevGateway
) -> None:
    number = unique_number()
    admin(page, dev_gateway)
    page.goto("/console/opt-outs")
    change = page.get_by_test_id("optout-change")
    change.locator("input[name=number]").fill(number)
    with page.expect_navigation():
        change.get_by_test_id("add-optout").click()
    expect(page.get_by_test_id(f"optout-{number}")).to_be_visible()
    expect(page.get_by_test_id("optout-result")).to_contain_text("Listed since")

    # The demo account's messages to it are refused now.
    refused = httpx.post(
        dev_gateway.url("/v1/messages"),
        json={"to": number, "from": "Demo", "text": "stop means stop"},
        headers={"Authorization": f"Bearer {dev_gateway.api_key}"},
        timeout=10,
    )
    assert refused.status_code != 202 or refused.json()["messages"][0]["status"] != "accepted"
