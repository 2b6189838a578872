"""The live dashboard, the event streams and the portal's usage page.

The streams are read from a real HTTP listener (the in-process transport
buffers a whole response, and a stream has no end); the pace of the
streams is shortened for the test, nothing else."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from api.console.figures import events as streams
from api.server import HttpFront
from engine import DashboardSampler, SendItem
from ledger.usage import ListedUsageQuery
from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api

TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture
async def front(console: Api, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The console on a real socket, its streams every 20 ms; returns its base URL."""
    monkeypatch.setattr(streams, "TICK", 0.02)
    sampler = DashboardSampler(console.engine.gateway, interval=0.02)
    sampler.start()
    console.engine.platform.dashboard = sampler
    http = HttpFront(console.engine, "127.0.0.1", 0)
    await http.start()
    try:
        yield f"http://127.0.0.1:{http.port}"
    finally:
        await http.stop()
        await sampler.stop()


async def events(lines: AsyncIterator[str], wanted: int) -> list[tuple[str, object]]:
    """The next ``wanted`` named events of a stream's lines (comments and retry skipped)."""
    found: list[tuple[str, object]] = []
    name = ""
    async for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            found.append((name, json.loads(line.removeprefix("data: "))))
            if len(found) == wanted:
                return found
    return found


async def test_console_events_send_the_history_then_new_samples(front: str) -> None:
    async with httpx.AsyncClient(base_url=front, timeout=10) as client:
        await log_in(client, "helpdesk")  # support may watch
        async with client.stream("GET", "/console/events") as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            (first, history), (second, sample) = await events(answer.aiter_lines(), 2)
    assert (first, second) == ("history", "sample")
    assert isinstance(history, list) and isinstance(sample, dict)
    assert [c["connector"] for c in sample["connectors"]] == ["op-0"]
    assert not history or sample["at"] > history[-1]["at"]


async def test_a_stream_ends_when_its_session_does(front: str) -> None:
    async with httpx.AsyncClient(base_url=front, timeout=10) as client:
        await log_in(client, "root")
        csrf = csrf_in(await client.get("/console"))
        async with client.stream("GET", "/console/events") as answer:
            lines = answer.aiter_lines()
            await events(lines, 1)
            async with httpx.AsyncClient(base_url=front, cookies=client.cookies) as other:
                await other.post("/console/logout", data={"csrf": csrf})
            rest = [line async for line in lines]  # ends, or the test times out
    assert len(rest) < 1_000


async def test_only_staff_get_the_console_stream(console: Api) -> None:
    console.engine.platform.dashboard = DashboardSampler(console.engine.gateway)
    anonymous = await console.client.get("/console/events")
    assert anonymous.status_code == 303 and "/console/login" in anonymous.headers["location"]
    await log_in(console.client, "bank-user", "portal")
    assert (await console.client.get("/console/events")).status_code == 403


async def test_staff_do_not_get_the_portal_stream(console: Api) -> None:
    await log_in(console.client, "root")
    assert (await console.client.get("/portal/events")).status_code == 403


async def test_portal_events_carry_the_accounts_own_message_states(
    console: Api, front: str
) -> None:
    engine = console.engine
    bank, shop = engine.account("bank"), engine.account("shop")
    assert bank is not None and shop is not None
    item = SendItem(to="33612345678", sender="BANK", text="hello")
    [mine], _ = await engine.send(bank, [item])
    [theirs], _ = await engine.send(shop, [item])
    async with httpx.AsyncClient(base_url=front, timeout=10) as client:
        await log_in(client, "bank-user", "portal")
        async with client.stream("GET", "/portal/events") as answer:
            lines = answer.aiter_lines()
            seen: dict[str, str] = {}
            while seen.get(mine.message_id) != "delivered":
                [(name, changes)] = await events(lines, 1)
                assert name == "states" and isinstance(changes, list)
                seen.update((c["id"], c["state"]) for c in changes)
    assert theirs.message_id not in seen


async def test_dashboard_page_has_its_charts_and_figures(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    without = await console.client.get("/console")
    assert "Live figures are not installed" in without.text
    sampler = DashboardSampler(console.engine.gateway)
    console.engine.platform.dashboard = sampler
    sampler.sample()
    page = await console.client.get("/console")
    assert page.status_code == 200
    for test_id in ("chart-rate", "chart-queue", "chart-ratio", "figure-submitted", "operators"):
        assert f'data-testid="{test_id}"' in page.text
    assert 'data-live="/console/events"' in page.text
    assert "/console/static/console.js" in page.text


async def test_usage_page_counts_the_accounts_messages(console: Api) -> None:
    engine = console.engine
    assert engine.history is not None
    engine.platform.usage = ListedUsageQuery(engine.history)
    bank = engine.account("bank")
    assert bank is not None
    item = SendItem(to="33612345678", sender="BANK", text="hello")
    _, waiters = await engine.send(bank, [item, item], wait_final=True)
    for waiter in waiters:
        assert waiter is not None
        await waiter
    await engine.pipeline.drain()
    await log_in(console.client, "bank-user", "portal")
    page = await console.client.get("/portal/usage")
    assert page.status_code == 200, page.text
    assert 'data-testid="usage-messages">2<' in page.text
    assert f'data-testid="usage-day-{TODAY}"' in page.text
    assert 'data-testid="usage-operator-op-0"' in page.text
    assert 'data-testid="usage-chart"' in page.text


async def test_usage_page_shows_a_bad_day_next_to_its_field(console: Api) -> None:
    console.engine.platform.usage = ListedUsageQuery(console.engine.history)  # type: ignore[arg-type]
    await log_in(console.client, "bank-user", "portal")
    bad = await console.client.get("/portal/usage", params={"first": "yesterday"})
    assert bad.status_code == 400 and 'data-testid="error-first"' in bad.text
    long = await console.client.get(
        "/portal/usage", params={"first": "2020-01-01", "last": "2020-12-31"}
    )
    assert long.status_code == 400 and "At most 92 days" in long.text
    reversed_ = await console.client.get(
        "/portal/usage", params={"first": "2020-01-02", "last": "2020-01-01"}
    )
    assert reversed_.status_code == 400 and 'data-testid="error-first"' in reversed_.text
    console.client.cookies.clear()
    await log_in(console.client, "root")
    assert (await console.client.get("/portal/usage")).status_code == 403


async def test_a_stream_ends_cleanly_when_the_http_front_stops(console: Api) -> None:
    """Without its end the stream would hold the stop for uvicorn's graceful
    timeout and then be cut mid-body (httpx: RemoteProtocolError)."""
    http = HttpFront(console.engine, "127.0.0.1", 0)
    await http.start()
    try:
        base = f"http://127.0.0.1:{http.port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await log_in(client, "bank-user", "portal")
            async with client.stream("GET", "/portal/events") as answer:
                lines = answer.aiter_lines()
                assert (await anext(lines)).startswith("retry: ")
                stopping = asyncio.get_running_loop().create_task(http.stop())
                rest = [line async for line in lines]  # a clean end of the body
                await stopping
    finally:
        await http.stop()
    assert len(rest) < 100
