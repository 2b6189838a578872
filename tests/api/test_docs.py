"""/docs: Swagger UI from the installed package, reading /openapi.json, nothing from elsewhere."""

from __future__ import annotations

import re

from tests.api.harness import Api


async def test_the_page_loads_only_our_own_files(api: Api) -> None:
    page = await api.client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/") for source in sources)
    for source in sources:
        answer = await api.client.get(source)
        assert answer.status_code == 200, source
        assert answer.content


async def test_swagger_ui_reads_our_openapi_31_document(api: Api) -> None:
    start = await api.client.get("/docs/start.js")
    assert start.headers["content-type"].startswith("text/javascript")
    assert 'url: "/openapi.json"' in start.text
    bundle = await api.client.get("/docs/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"openapi-3-1" in bundle.content  # Swagger UI 5: older ones refuse OpenAPI 3.1


async def test_only_the_pages_files_are_served(api: Api) -> None:
    for name in ("swagger-editor-bundle.js", "LICENSE", "..%2f..%2fcore.py"):
        answer = await api.client.get(f"/docs/{name}")
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
