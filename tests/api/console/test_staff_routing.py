"""The staff routing page: the document shown and replaced through
`put_routing` (issues with their place, nothing changed on error), the
tariffs, and the explain form."""

from __future__ import annotations

import json

import pytest

from api.console.staff_routing import parse_document
from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api
from tests.engine.peers import until


async def test_the_document_and_tariffs_are_shown(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/routing")
    assert page.status_code == 200
    assert "&#34;mt_routes&#34;" in page.text or "&quot;mt_routes&quot;" in page.text
    tariffs = page.text.split('data-testid="routing-tariffs"')[1].split("</table>")[0]
    assert "retail" in tariffs and "0.04 EUR" in tariffs
    assert 'data-testid="save-routing"' not in page.text  # support reads only


async def test_explain_shows_route_connector_and_price(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    await until(lambda: console.engine.pipeline.usable == {"op-0"})  # bound to its operator
    page = await console.client.get(
        "/console/routing", params={"to": "33612345678", "account": "bank", "sender": "Shop"}
    )
    assert 'data-testid="explain-route">fr<' in page.text
    assert 'data-testid="explain-connectors">op-0<' in page.text
    assert 'data-testid="explain-price">0.04 EUR' in page.text


async def test_explain_of_a_number_no_route_takes(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/routing", params={"to": "4479", "account": "bank"})
    assert "No route takes it." in page.text


async def test_explain_errors_show_next_to_their_field(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get(
        "/console/routing", params={"to": "3" * 30, "account": "nobody"}
    )
    assert 'data-testid="error-to"' in page.text
    page = await console.client.get("/console/routing", params={"to": "33612", "account": "x"})
    assert 'data-testid="error-account"' in page.text


async def test_save_a_changed_document(console: Api) -> None:
    await log_in(console.client, "root")
    csrf = csrf_in(await console.client.get("/console/routing"))
    document = console.engine.admin.routing_document()
    document["tariffs"]["retail"]["rates"][0]["price"] = 55_000
    answer = await console.client.post(
        "/console/routing", data={"csrf": csrf, "document": json.dumps(document)}
    )
    assert answer.status_code == 303, answer.text
    assert console.engine.admin.routing.tariffs["retail"].rates[0].price == 55_000
    (entry,) = await console.engine.admin.audit.recent(1)
    assert (entry.action, entry.actor) == ("routing.put", "console:root")


async def test_a_bad_document_shows_its_issues_and_changes_nothing(console: Api) -> None:
    await log_in(console.client, "root")
    csrf = csrf_in(await console.client.get("/console/routing"))
    before = console.engine.admin.routing
    document = console.engine.admin.routing_document()
    document["mt_routes"][0]["target"]["connectors"] = ["nowhere"]
    document["tariffs"]["retail"]["rates"][0]["price"] = -1
    text = json.dumps(document)
    answer = await console.client.post("/console/routing", data={"csrf": csrf, "document": text})
    assert answer.status_code == 422
    issues = answer.text.split('data-testid="error-document">')[1].split("</ul>")[0]
    assert "mt_routes[0].target.connectors[0]" in issues
    assert "tariffs.retail.rates[0].price" in issues
    assert console.engine.admin.routing is before
    assert "nowhere" in answer.text  # the typed text stays to be fixed


async def test_toml_is_taken_too(console: Api) -> None:
    await log_in(console.client, "root")
    csrf = csrf_in(await console.client.get("/console/routing"))
    toml = """
[routing]
currency = "EUR"
[routing.connectors.op-0]
[routing.tariffs.retail]
rates = [{ prefix = "33", price = 61000 }]
[[routing.mt_routes]]
id = "all"
sell_tariff = "retail"
target = { kind = "static", connector = "op-0" }
"""
    answer = await console.client.post("/console/routing", data={"csrf": csrf, "document": toml})
    assert answer.status_code == 303, answer.text
    assert [route.id for route in console.engine.admin.routing.mt_routes] == ["all"]


async def test_support_may_not_save(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    csrf = csrf_in(await console.client.get("/console/routing"))
    before = console.engine.admin.routing
    answer = await console.client.post("/console/routing", data={"csrf": csrf, "document": "{}"})
    assert answer.status_code == 403
    assert console.engine.admin.routing is before


@pytest.mark.parametrize("text", ["{not json", "[routing\ncurrency ="])
def test_broken_text_says_so(text: str) -> None:
    with pytest.raises(ValueError, match=r"not JSON|neither JSON nor TOML"):
        parse_document(text)
