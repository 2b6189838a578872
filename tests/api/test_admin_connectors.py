"""Admin API: connectors (state, stop, start, create, change) and live stats."""

from __future__ import annotations

from tests.api.harness import Api
from tests.api.test_admin import ADMIN, FR, admin_api, api, problem, send, until
from tests.engine.gateway_harness import simulator

__all__ = ["api"]  # fixtures


def bound(api: Api, name: str) -> bool:
    return name in api.engine.live_connectors() and name in (api.engine.pipeline.usable or ())


async def test_list_and_get_connectors(api: Api) -> None:
    await until(lambda: bound(api, "op-0"))
    [listed] = (await api.client.get("/admin/connectors", headers=ADMIN)).json()["connectors"]
    assert (listed["id"], listed["running"], listed["binds"]) == ("op-0", True, ["bound"])
    assert "password" not in listed
    assert (await api.client.get("/admin/connectors/op-0", headers=ADMIN)).json() == listed
    problem(await api.client.get("/admin/connectors/op-9", headers=ADMIN), 404, "unknown_connector")
    problem(
        await api.client.post("/admin/connectors/op-9/stop", headers=ADMIN),
        404,
        "unknown_connector",
    )


async def test_a_stopped_connector_is_avoided_and_keeps_its_queue(api: Api) -> None:
    """Routing prefers usable connectors; with none left on the route, a
    message is accepted and waits in the queue until the connector starts."""
    await until(lambda: bound(api, "op-0"))
    connector = api.engine.gateway.connectors["op-0"]
    stopped = await api.client.post("/admin/connectors/op-0/stop", headers=ADMIN)
    assert stopped.json()["running"] is False and stopped.json()["binds"] == ["stopped"]
    sample = {"account": "bank", "from": "Bank", "to": FR}
    explained = await api.client.post("/admin/routing/explain", json=sample, headers=ADMIN)
    assert explained.json()["decision"] == {"kind": "no_route"}
    assert "usable" in explained.json()["routes"][0]["reason"]
    assert (await send(api, api.keys["bank"])).status_code == 202
    assert connector.scheduler and connector.state().submitted == 0
    again = await api.client.post("/admin/connectors/op-0/stop", headers=ADMIN)
    assert again.json()["running"] is False and again.json()["queue_depth"] == 1
    started = await api.client.post("/admin/connectors/op-0/start", headers=ADMIN)
    assert started.json()["running"] is True
    restarted = api.engine.gateway.connectors["op-0"]
    assert restarted is not connector and restarted.scheduler is connector.scheduler
    await until(lambda: restarted.state().submitted == 1)


async def test_create_a_connector_and_route_to_it() -> None:
    second = simulator()
    await second.start()
    try:
        async with admin_api() as api:
            body = {
                "id": "op-new",
                "host": "127.0.0.1",
                "port": second.port,
                "system_id": "smsgw",
                "password": "x",
            }
            created = await api.client.put("/admin/connectors/op-new", json=body, headers=ADMIN)
            assert created.status_code == 201, created.text
            await until(lambda: bound(api, "op-new"))
            document = (await api.client.get("/admin/routing", headers=ADMIN)).json()
            document["connectors"]["op-new"] = {}
            document["mt_routes"][0]["target"]["connectors"] = ["op-new"]
            applied = await api.client.put("/admin/routing", json=document, headers=ADMIN)
            assert applied.status_code == 200, applied.text
            assert (await send(api, api.keys["bank"])).status_code == 202
            view = api.engine.gateway.connectors["op-new"]
            await until(lambda: view.state().submitted == 1)
    finally:
        await second.stop()


async def test_change_a_connector_restarts_it_on_its_queue(api: Api) -> None:
    await until(lambda: bound(api, "op-0"))
    old = api.engine.gateway.connectors["op-0"]
    scheduler = old.scheduler
    body = {
        "id": "op-0",
        "host": "127.0.0.1",
        "port": old.config.port,
        "system_id": "smsgw",
        "password": "x",
        "throughput": 123,
        "reconnect_delay": 0.05,
        "reconnect_delay_max": 0.2,
    }
    changed = await api.client.put("/admin/connectors/op-0", json=body, headers=ADMIN)
    assert changed.status_code == 200, changed.text
    assert changed.json()["throughput"] == 123
    new = api.engine.gateway.connectors["op-0"]
    assert new is not old and new.scheduler is scheduler
    await until(lambda: bound(api, "op-0"))
    assert (await send(api, api.keys["bank"])).status_code == 202
    same = await api.client.put("/admin/connectors/op-0", json=body, headers=ADMIN)
    assert same.status_code == 200 and api.engine.gateway.connectors["op-0"] is new


async def test_connector_body_errors(api: Api) -> None:
    path = "/admin/connectors/op-0"
    base = {"id": "op-0", "host": "127.0.0.1", "system_id": "smsgw"}
    problem(
        await api.client.put(path, json={**base, "id": "op-1"}, headers=ADMIN),
        400,
        "invalid_request",
    )
    problem(
        await api.client.put(path, json={**base, "window": 0}, headers=ADMIN),
        400,
        "invalid_request",
    )
    problem(await api.client.put(path, json={"host": "h"}, headers=ADMIN), 400, "invalid_request")
    retry = {**base, "retry_delay": 9, "retry_delay_max": 1}
    problem(await api.client.put(path, json=retry, headers=ADMIN), 400, "invalid_request")
    problem(await api.client.put(path, json=[1], headers=ADMIN), 400, "invalid_request")
    assert api.engine.gateway.connectors["op-0"].config.host == "127.0.0.1"


async def test_stats(api: Api) -> None:
    assert (await send(api, api.keys["bank"])).status_code == 202
    stats = (await api.client.get("/admin/stats", headers=ADMIN)).json()
    assert stats["shard"] == "t1"
    assert stats["messages"]["accepted"] == 1
    assert set(stats["queue_depth"]) == {"op-0"}
    assert stats["ledger_batches"]["batches"] >= 1 and stats["ledger_batches"]["messages"] == 1
    assert stats["customer_binds"] == {}
    problem(await api.client.get("/admin/stats"), 401, "unauthorized")
