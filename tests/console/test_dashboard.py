"""The live dashboard and the portal's usage in a real browser, on the demo
traffic `smsgw dev` sends at start (docs/console-dashboard.md)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, expect

from smsgw.dev import DEMO_TRAFFIC
from tests.console.conftest import DevGateway
from tests.console.test_flows import admin, customer

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
"""What console.js writes in the "updated" figure; the server never does."""


def test_the_dashboard_draws_its_charts_and_follows_the_event_stream(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    admin(page, dev_gateway)
    page.goto("/console")
    for chart in ("chart-rate", "chart-queue", "chart-ratio"):
        expect(page.get_by_test_id(chart).locator("canvas")).to_have_count(1)
    updated = page.get_by_test_id("live-at")
    expect(updated).to_have_text(STAMP)
    first = updated.inner_text()
    expect(updated).not_to_have_text(first)  # the next sample, pushed, no reload
    expect(updated).to_have_text(STAMP)
    operators = page.get_by_test_id("operators")
    expect(operators).to_contain_text("simulator")
    expect(operators).to_contain_text("100.0 %")  # the simulator delivers every message
    screenshot(page, "dashboard")


def test_the_portal_usage_shows_the_demo_traffic(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    customer(page, dev_gateway)
    page.goto("/portal/usage")
    messages = page.get_by_test_id("usage-messages")
    expect(messages).to_have_text(re.compile(r"^\d+$"))
    assert int(messages.inner_text()) >= DEMO_TRAFFIC
    expect(page.get_by_test_id("usage-operator-simulator")).to_be_visible()
    expect(page.get_by_test_id("usage-state-delivered")).to_be_visible()
    expect(page.get_by_test_id("usage-chart").locator("canvas")).to_have_count(1)
    screenshot(page, "usage")
