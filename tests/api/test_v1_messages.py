"""GET /v1/messages/{id}, GET /v1/messages and the webhook delivery log over the real app."""

from __future__ import annotations

import asyncio
import time

from engine.messages.message import Callback
from engine.sending import SendItem
from engine.webhooks import WebhookLimits
from tests.api.harness import Api, running_api
from tests.engine.webhook_receiver import Receiver


async def send(api: Api, count: int, **fields: object) -> list[str]:
    item = SendItem(to="33612345678", sender="Bank", text="hello", **fields)  # type: ignore[arg-type]
    results, _ = await api.engine.send(api.engine.gateway.accounts["bank"], [item] * count)
    return [r.message_id for r in results]


async def settled(api: Api) -> None:
    await api.engine.gateway.pipeline.drain()


async def test_a_message_with_its_history() -> None:
    async with running_api("memory") as api:
        [message_id] = await send(api, 1, reference="order-1")
        for _ in range(200):
            answer = await api.client.get(f"/v1/messages/{message_id}", headers=api.auth())
            if answer.json()["state"] == "delivered":
                break
            await asyncio.sleep(0.02)
        view = answer.json()
        assert view["id"] == message_id and view["to"] == "33612345678"
        assert (view["from"], view["reference"], view["parts"]) == ("Bank", "order-1", 1)
        assert view["price_per_part"] == 40_000 and view["charged"] == 40_000
        assert [step["state"] for step in view["history"]] == ["accepted", "submitted", "delivered"]
        assert view["accepted_at"].endswith("Z")


async def test_another_accounts_message_and_nonsense_ids_are_not_found() -> None:
    async with running_api("memory") as api:
        [message_id] = await send(api, 1)
        for path in (f"/v1/messages/{message_id}", "/v1/messages/nope", "/v1/messages/" + "x" * 80):
            answer = await api.client.get(path, headers=api.auth("shop"))
            assert answer.status_code == 404 and answer.json()["code"] == "message_not_found"
        assert (await api.client.get(f"/v1/messages/{message_id}")).status_code == 401


async def test_pages_are_newest_first_without_repeats() -> None:
    async with running_api("memory") as api:
        sent = await send(api, 7)
        await send(api, 2, reference="vip")
        await settled(api)
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
            page = (await api.client.get("/v1/messages", params=params, headers=api.auth())).json()
            seen += [m["id"] for m in page["messages"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 9 and set(sent) < set(seen)
        vip = await api.client.get("/v1/messages", params={"reference": "vip"}, headers=api.auth())
        assert [m["reference"] for m in vip.json()["messages"]] == ["vip", "vip"]
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
        none = await api.client.get("/v1/messages", params={"since": later}, headers=api.auth())
        assert none.json() == {"messages": [], "next_cursor": None}


async def test_bad_list_parameters_are_400() -> None:
    async with running_api("memory") as api:
        for params in (
            {"limit": "0"},
            {"limit": "abc"},
            {"state": "lost"},
            {"since": "yesterday"},
            {"since": "2026-01-01T00:00:00"},
            {"cursor": "!!"},
            {"colour": "red"},
        ):
            answer = await api.client.get("/v1/messages", params=params, headers=api.auth())
            assert answer.status_code == 400, params
            assert answer.json()["code"] == "invalid_request"


async def test_without_a_history_the_list_is_unavailable_but_recent_messages_answer(
    redis_client, namespace
) -> None:
    async with running_api("redis", redis_client, namespace) as api:
        [message_id] = await send(api, 1)
        answer = await api.client.get("/v1/messages", headers=api.auth())
        assert answer.status_code == 503 and answer.json()["code"] == "history_unavailable"
        recent = await api.client.get(f"/v1/messages/{message_id}", headers=api.auth())
        assert recent.status_code == 200 and recent.json()["id"] == message_id


async def test_the_delivery_log_shows_each_webhook_attempt() -> None:
    receiver = Receiver([500, 200])
    await receiver.start()
    try:
        fast = WebhookLimits(retry_delays=(0.01,), private_networks=True)
        async with running_api("memory", webhooks=fast) as api:
            empty = await api.client.get("/v1/webhooks/deliveries", headers=api.auth())
            assert empty.json() == {"deliveries": []}
            [message_id] = await send(api, 1, callback=Callback(url=receiver.url))
            for _ in range(300):
                log = await api.client.get(
                    "/v1/webhooks/deliveries", params={"message_id": message_id}, headers=api.auth()
                )
                if len(log.json()["deliveries"]) == 2:
                    break
                await asyncio.sleep(0.02)
            attempts = log.json()["deliveries"]
            assert [(a["attempt"], a["status"], a["outcome"]) for a in attempts] == [
                (2, 200, "delivered"),
                (1, 500, "retrying"),
            ]
            other = await api.client.get("/v1/webhooks/deliveries", headers=api.auth("shop"))
            assert other.json() == {"deliveries": []}
    finally:
        await receiver.close()
