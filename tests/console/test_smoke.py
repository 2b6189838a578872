"""The browser infrastructure itself: the dev process serves /docs to chromium."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, expect

from tests.console.conftest import DevGateway


def test_chromium_renders_the_api_reference_of_smsgw_dev(
    page: Page, dev_gateway: DevGateway, screenshot
) -> None:
    response = page.goto("/docs")
    assert response is not None and response.ok
    # Swagger UI renders /openapi.json client-side: wait for its title.
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()
    path = screenshot(page, "api-docs", full_page=False)
    assert path.stat().st_size > 1000
