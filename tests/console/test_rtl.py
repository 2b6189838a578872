"""The portal in Persian, in a real browser whose language is fa-IR (issue
19): the page reads right to left, and a Persian text's handset preview
shows how the phone will split it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import TIMEOUT_MS, VIEWPORT, DevGateway
from tests.console.test_flows import customer, unique_number

PERSIAN_TEXT = (
    "سلام، سفارش شما ثبت شد و فردا صبح به نشانی‌ای که داده‌اید فرستاده می‌شود. "
    "برای پیگیری، کد ۴۸۲۷ را در سایت وارد کنید."
)
"""Longer than one UCS-2 part (70 characters): the preview has two."""


@pytest.fixture
def persian_page(browser: Browser, dev_gateway: DevGateway) -> Iterator[Page]:
    """A browser whose language is Persian: it sends Accept-Language: fa-IR."""
    context = browser.new_context(base_url=dev_gateway.base_url, viewport=VIEWPORT, locale="fa-IR")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_send_page_reads_right_to_left_and_previews_persian_text(
    persian_page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    page = persian_page
    customer(page, dev_gateway)
    page.goto("/portal/send")

    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "fa"
    nav = page.locator("header nav")
    assert nav.evaluate("nav => getComputedStyle(nav).direction") == "rtl"
    expect(nav.get_by_role("link", name="ارسال", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("ارسال پیام")
    # Right to left on screen, not only in the markup: the first link sits
    # to the right of the last one.
    links = nav.locator("a")
    first, last = links.first.bounding_box(), links.last.bounding_box()
    assert first is not None and last is not None
    assert first["x"] > last["x"]

    page.locator("[name=to]").fill(unique_number())
    page.locator("[name=text]").fill(PERSIAN_TEXT)
    expect(page.get_by_test_id("preview-coding")).to_have_text("UCS-2")
    parts = page.get_by_test_id("preview-handset").locator("li")
    expect(parts).to_have_count(2)
    assert "".join(parts.all_inner_texts()) == PERSIAN_TEXT
    assert parts.first.evaluate("part => getComputedStyle(part).direction") == "rtl"
    expect(page.get_by_test_id("preview-parts")).to_contain_text("2 بخش")
    screenshot(page, "portal-send-fa")


def test_the_switch_turns_the_page_back_to_english(
    persian_page: Page, dev_gateway: DevGateway
) -> None:
    page = persian_page
    customer(page, dev_gateway)
    page.goto("/portal/send")
    page.get_by_test_id("lang-switch").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    page.goto("/portal/messages")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("header nav").get_by_role("link", name="Send", exact=True)).to_be_visible()
