"""The staff connector pages: the list with state, health and rate, one
connector's figures, and stop/start for admins only, audited."""

from __future__ import annotations

from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api


async def test_list_shows_state_health_and_rate(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/connectors")
    assert page.status_code == 200
    assert 'data-testid="connector-op-0"' in page.text
    assert 'data-testid="health-op-0">in<' in page.text


async def test_admin_stops_and_starts_a_connector(console: Api) -> None:
    await log_in(console.client, "root")
    page = await console.client.get("/console/connectors/op-0")
    assert 'data-testid="stop"' in page.text
    csrf = csrf_in(page)
    stopped = await console.client.post("/console/connectors/op-0/stop", data={"csrf": csrf})
    assert stopped.status_code == 303
    assert not console.engine.admin.connector("op-0").running
    (entry,) = await console.engine.admin.audit.recent(1)
    assert (entry.action, entry.target, entry.actor) == ("connector.stop", "op-0", "console:root")
    page = await console.client.get("/console/connectors/op-0")
    assert 'data-testid="start"' in page.text
    await console.client.post("/console/connectors/op-0/start", data={"csrf": csrf})
    assert console.engine.admin.connector("op-0").running


async def test_support_sees_no_buttons_and_may_not_stop(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/connectors/op-0")
    assert 'data-testid="stop"' not in page.text
    answer = await console.client.post(
        "/console/connectors/op-0/stop", data={"csrf": csrf_in(page)}
    )
    assert answer.status_code == 403
    assert console.engine.admin.connector("op-0").running


async def test_unknown_connector_and_action_are_404(console: Api) -> None:
    await log_in(console.client, "root")
    assert (await console.client.get("/console/connectors/nope")).status_code == 404
    csrf = csrf_in(await console.client.get("/console/connectors/op-0"))
    answer = await console.client.post("/console/connectors/op-0/explode", data={"csrf": csrf})
    assert answer.status_code == 404
