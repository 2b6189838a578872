"""The staff's message search and timeline (/console/messages) over the
memory history the API's own messages fill."""

from __future__ import annotations

import asyncio
import html
import re

import pytest

from api.console import staff_messages
from engine import DeliveryAttempt, MessageRecord, MessageSearch, MessageState
from ledger.message_query import StateChange
from tests.api.console.conftest import log_in
from tests.api.harness import Api

BANK_TO = "33612345678"
SHOP_TO = "33698765432"


async def sent(api: Api, account: str, to: str) -> str:
    body = {"to": to, "from": "Bank", "text": "hello"}
    answer = await api.client.post("/v1/messages", json=body, headers=api.auth(account))
    assert answer.status_code == 202, answer.text
    message_id: str = answer.json()["messages"][0]["id"]
    return message_id


async def settled(api: Api, message_id: str, state: str = "delivered") -> None:
    """Waits for the history to hold the message in ``state`` (the simulator answers)."""
    for _ in range(400):
        record = await api.engine.find_message(message_id)
        if record is not None and record.state == state and record.charged is not None:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{message_id} never reached {state}: {record}")


def listed(page: str) -> list[str]:
    return re.findall(r'data-testid="message-([^"]+)"', page)


async def test_admin_searches_by_number_account_and_id(console: Api) -> None:
    first = await sent(console, "bank", BANK_TO)
    second = await sent(console, "bank", SHOP_TO)
    other = await sent(console, "shop", SHOP_TO)
    for message_id in (first, second, other):
        await settled(console, message_id)
    client = console.client
    await log_in(client, "root")

    everything = await client.get("/console/messages")
    assert everything.status_code == 200
    assert listed(everything.text) == [other, second, first]  # newest first
    by_number = await client.get("/console/messages", params={"number": f"+{SHOP_TO}"})
    assert listed(by_number.text) == [other, second]
    both = await client.get("/console/messages", params={"number": SHOP_TO, "account": "bank"})
    assert listed(both.text) == [second]
    by_id = await client.get("/console/messages", params={"id": first})
    assert listed(by_id.text) == [first]
    future = await client.get("/console/messages", params={"from": "2999-01-01T00:00"})
    assert listed(future.text) == [] and "No message matches." in future.text


async def test_bad_search_fields_show_their_errors(console: Api) -> None:
    await log_in(console.client, "root")
    for params, field in (
        ({"number": "call me"}, "number"),
        ({"account": "no spaces"}, "account"),
        ({"id": "bad id!"}, "id"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-12-02T00:00", "to": "2026-12-01T00:00"}, "to"),
    ):
        answer = await console.client.get("/console/messages", params=params)
        assert answer.status_code == 400, params
        assert f'data-testid="error-{field}"' in answer.text, params


async def test_pages_follow_the_older_link(console: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staff_messages, "PAGE_ROWS", 2)
    ids = [await sent(console, "bank", BANK_TO) for _ in range(3)]
    for message_id in ids:
        await settled(console, message_id)
    await log_in(console.client, "root")
    first = await console.client.get("/console/messages", params={"account": "bank"})
    assert listed(first.text) == [ids[2], ids[1]]
    older = re.search(r'href="(/console/messages\?[^"]+)" data-testid="older"', first.text)
    assert older is not None and "account=bank" in older[1]
    rest = await console.client.get(html.unescape(older[1]))
    assert listed(rest.text) == [ids[0]] and 'data-testid="older"' not in rest.text


async def test_the_timeline_tells_the_whole_story(console: Api) -> None:
    message_id = await sent(console, "bank", BANK_TO)
    await settled(console, message_id)
    record = await console.engine.find_message(message_id)
    assert record is not None and record.held is not None
    await log_in(console.client, "helpdesk")  # support reads it too
    page = await console.client.get(f"/console/messages/{message_id}")
    assert page.status_code == 200
    steps = re.findall(r'<td class="state state-([^"]+)">', page.text)
    assert steps[:3] == ["accepted", "submitted", "delivered"]
    assert "charged" in steps
    assert re.search(r"1 part\(s\) at [0-9.]+ EUR, [0-9.]+ EUR held", page.text)
    assert "connector " in page.text and "operator id " in page.text
    assert 'data-testid="message-to">' + BANK_TO in page.text

    missing = await console.client.get("/console/messages/nope")
    assert missing.status_code == 404


async def test_customers_may_not_search(console: Api) -> None:
    await log_in(console.client, "bank-user", door="portal")
    answer = await console.client.get("/console/messages")
    assert answer.status_code == 403


async def test_without_a_history_the_page_says_so(console: Api) -> None:
    console.engine.history = None
    await log_in(console.client, "root")
    answer = await console.client.get("/console/messages")
    assert answer.status_code == 200 and 'data-testid="no-history"' in answer.text
    assert await console.engine.search_messages(MessageSearch(), None, 10) is None


def test_a_timeline_shows_release_and_webhook_attempts_in_order() -> None:
    record = MessageRecord(
        message_id="m1", account="bank", state=MessageState.UNDELIVERABLE, parts=2,
        price_per_part=40_000, held=80_000, charged=0, connector="op-a",
        operator_message_id="X1", error_code=34, destination=BANK_TO, source="Bank",
        reference=None, accepted_at=1_000, updated_at=9_000,
        events=[
            StateChange(state=MessageState.ACCEPTED, at=1_000),
            StateChange(state=MessageState.SUBMITTED, at=2_000, connector="op-a",
                        operator_message_id="X1"),
            StateChange(state=MessageState.UNDELIVERABLE, at=9_000, error_code=34),
        ],
    )  # fmt: skip
    attempts = [
        DeliveryAttempt(
            account="bank",
            message_id="m1",
            url="https://hooks.example/x",
            event="receipt",
            attempt=n,
            at_ms=at,
            status=status,
            error=error,
            outcome=outcome,
        )
        for n, at, status, error, outcome in (
            (2, 12_000, 200, "", "delivered"),
            (1, 10_000, None, "timed out", "retrying"),
        )
    ]
    steps = staff_messages.timeline(record, attempts, "EUR")
    assert [(step.what, step.detail, step.error_code) for step in steps] == [
        ("accepted", "2 part(s) at 0.04 EUR, 0.08 EUR held", None),
        ("submitted", "connector op-a, operator id X1", None),
        ("undeliverable", "", 34),
        ("charged", "0.00 EUR", None),
        ("released", "0.08 EUR", None),
        ("webhook attempt 1", "receipt to https://hooks.example/x: timed out (retrying)", None),
        ("webhook attempt 2", "receipt to https://hooks.example/x: 200 (delivered)", None),
    ]
