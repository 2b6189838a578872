"""Admin API: the routing document, its hot replacement and route explain."""

from __future__ import annotations

import copy
from typing import Any

from tests.api.harness import Api
from tests.api.test_admin import ADMIN, FR, AdminStarter, api, problem, send, start, until
from tests.engine.gateway_harness import PRICE, routing

__all__ = ["api", "start"]  # fixtures

Document = dict[str, Any]


async def get_document(api: Api) -> Document:
    answer = await api.client.get("/admin/routing", headers=ADMIN)
    assert answer.status_code == 200
    document: Document = answer.json()
    return document


async def test_get_routing_is_the_document_in_use(api: Api) -> None:
    document = await get_document(api)
    expected = copy.deepcopy(routing(["op-0"]))
    assert document["mt_routes"][0]["id"] == "fr"
    assert document["tariffs"] == expected["tariffs"]
    assert document["mt_routes"][0]["filters"] == {"destination_prefix": ["33"]}
    answer = await api.client.put("/admin/routing", json=document, headers=ADMIN)
    assert answer.json() == {"mt_routes": 1, "mo_routes": 1, "published": False}


async def test_a_routing_put_with_errors_changes_nothing(api: Api) -> None:
    before = await get_document(api)
    table = api.engine.gateway.pipeline.table
    broken = copy.deepcopy(before)
    broken["mt_routes"][0]["target"]["connectors"] = ["op-0", "nowhere"]
    broken["tariffs"]["retail"]["rates"][0]["price"] = -1
    broken["colour"] = "blue"
    answer = await api.client.put("/admin/routing", json=broken, headers=ADMIN)
    body = problem(answer, 422, "invalid_routing")
    places = {issue["place"] for issue in body["issues"]}
    assert {"colour", "tariffs.retail.rates[0].price"} <= places
    assert any(place.startswith("mt_routes[0].target.connectors") for place in places)
    assert api.engine.gateway.pipeline.table is table
    assert await get_document(api) == before
    assert (await send(api, api.keys["bank"])).json()["messages"][0]["price_per_part"] == PRICE


async def test_a_routing_put_refuses_unknown_connectors_and_another_currency(api: Api) -> None:
    document = await get_document(api)
    elsewhere = copy.deepcopy(document)
    elsewhere["connectors"]["op-9"] = {}
    body = problem(
        await api.client.put("/admin/routing", json=elsewhere, headers=ADMIN),
        422,
        "invalid_routing",
    )
    assert body["issues"] == [
        {"place": "connectors.op-9", "message": "no such connector on this shard"}
    ]
    dollars = {**document, "currency": "USD"}
    body = problem(
        await api.client.put("/admin/routing", json=dollars, headers=ADMIN), 422, "invalid_routing"
    )
    assert [issue["place"] for issue in body["issues"]] == ["currency"]
    not_json = await api.client.put("/admin/routing", content=b"{", headers=ADMIN)
    problem(not_json, 400, "invalid_request")
    problem(await api.client.put("/admin/routing", json=[], headers=ADMIN), 422, "invalid_routing")


async def test_an_applied_routing_put_changes_the_next_decision(start: AdminStarter) -> None:
    async with start() as api:
        document = await get_document(api)
        document["tariffs"]["retail"]["rates"][0]["price"] = 2 * PRICE
        document["mt_routes"].insert(
            0,
            {
                "id": "no-premium",
                "filters": {"destination_prefix": ["33899"]},
                "target": {"kind": "reject", "command_status": 0x45, "reason": "premium refused"},
            },
        )
        answer = await api.client.put("/admin/routing", json=document, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert answer.json()["published"] is (api.engine.admin.redis is not None)  # type: ignore[attr-defined]
        sent = await send(api, api.keys["bank"])
        assert sent.json()["messages"][0]["price_per_part"] == 2 * PRICE
        body = {"to": "33899000000", "from": "Bank", "text": "win"}
        refused = await api.client.post("/v1/messages", json=body, headers=api.auth("bank"))
        problem(refused, 422, "rejected")
        assert (await get_document(api))["mt_routes"][0]["id"] == "no-premium"


async def test_explain_an_mt_message(api: Api) -> None:
    await until(lambda: api.engine.pipeline.usable == {"op-0"})
    sample = {"account": "bank", "from": "Bank", "to": FR, "text": "hello"}
    answer = await api.client.post("/admin/routing/explain", json=sample, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["destination"] == FR
    assert body["routes"] == [
        {"route_id": "fr", "matched": True, "decided": True, "reason": "decides"}
    ]
    assert body["decision"] == {
        "kind": "routed",
        "route_id": "fr",
        "connectors": ["op-0"],
        "destination": FR,
        "network": "",
        "country": "FR",
        "sell_per_part": PRICE,
        "currency": "EUR",
        "cost_currency": "EUR",
    }
    assert body["country"] == "FR" and body["pricing"] == "route 'fr': tariff 'retail' in EUR"
    elsewhere = {**sample, "to": "4912345678"}
    body = (await api.client.post("/admin/routing/explain", json=elsewhere, headers=ADMIN)).json()
    assert body["decision"] == {"kind": "no_route"}
    [trace] = body["routes"]
    assert not trace["matched"] and trace["reason"]


async def test_explain_an_mo_message(api: Api) -> None:
    sample = {"direction": "mo", "connector": "op-0", "from": FR, "to": "36000", "text": "STOP"}
    body = (await api.client.post("/admin/routing/explain", json=sample, headers=ADMIN)).json()
    assert body["decision"] == {"kind": "routed", "route_id": "replies", "accounts": ["bank"]}


async def test_explain_errors(api: Api) -> None:
    async def explain(sample: object) -> Any:
        return await api.client.post("/admin/routing/explain", json=sample, headers=ADMIN)

    problem(await explain({"from": "Bank", "to": FR}), 400, "invalid_request")
    problem(await explain({"direction": "mo", "from": FR, "to": "1"}), 400, "invalid_request")
    problem(await explain({"account": "bank", "to": FR}), 400, "invalid_request")
    problem(
        await explain({"account": "bank", "from": "B", "to": FR, "x": 1}), 400, "invalid_request"
    )
    problem(await explain({"account": "nobody", "from": "B", "to": FR}), 422, "unknown_account")
    problem(
        await explain({"account": "bank", "from": "B", "to": FR, "priority": "asap"}),
        400,
        "invalid_request",
    )
    problem(
        await explain({"account": "bank", "from": "B", "to": FR, "at": "2025-01-01T10:00:00"}),
        400,
        "invalid_request",
    )
