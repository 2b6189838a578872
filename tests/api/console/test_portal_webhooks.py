"""The portal's webhook settings: the URL checked (the error next to the
field), a secret made and shown once, a signed test event that a real local
receiver gets, the delivery log; only ever the user's own account."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import pytest

from engine.webhooks import verify_signature
from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api
from tests.engine.peers import WAIT
from tests.engine.webhook_receiver import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.close()


async def test_set_url_make_secret_and_send_a_signed_test_event(
    console: Api, receiver: Receiver
) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    csrf = csrf_in(await client.get("/portal/webhooks"))
    saved = await client.post("/portal/webhooks", data={"webhook_url": receiver.url, "csrf": csrf})
    assert (saved.status_code, saved.headers["location"]) == (303, "/portal/webhooks")
    bank = console.engine.account("bank")
    assert bank is not None and bank.webhook_url == receiver.url

    made = await client.post("/portal/webhooks/secret", data={"csrf": csrf})
    assert made.status_code == 201
    secret = made.text.split('data-testid="new-secret">')[1].split("<")[0]
    assert secret.startswith("whsec_")
    bank = console.engine.account("bank")
    assert bank is not None and bank.webhook_secret == secret
    assert secret not in (await client.get("/portal/webhooks")).text

    tested = await client.post("/portal/webhooks/test", data={"csrf": csrf})
    assert tested.status_code == 200
    assert 'data-testid="test-status">200<' in tested.text
    (request,) = receiver.requests
    assert request.headers["smsgw-event"] == "test"
    assert verify_signature(
        secret,
        request.headers["smsgw-timestamp"],
        request.body,
        request.headers["smsgw-signature"],
        time.time(),
    )
    assert orjson.loads(request.body)["account"] == "bank"

    async def logged() -> bool:
        return bool(await console.engine.webhook_deliveries("bank", 10))

    await _until_async(logged)
    page = await client.get("/portal/webhooks")
    assert "<td>test</td>" in page.text
    actors = {(e.actor, e.action) for e in await console.engine.admin.audit.recent(10)}
    assert ("portal:bank-user", "account.update") in actors


async def _until_async(condition: Callable[[], Awaitable[bool]]) -> None:
    """`until` for a coroutine condition: the delivery log is written off the
    call's path, with nothing to await."""
    async with asyncio.timeout(WAIT):
        while not await condition():
            await asyncio.sleep(0.01)


async def test_a_bad_url_shows_its_error_next_to_the_field(console: Api) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    csrf = csrf_in(await client.get("/portal/webhooks"))
    for bad in ("ftp://example.com/hook", "not a url", "https://"):
        answer = await client.post("/portal/webhooks", data={"webhook_url": bad, "csrf": csrf})
        assert answer.status_code == 400, bad
        assert 'data-testid="error-webhook_url"' in answer.text, bad
    bank = console.engine.account("bank")
    assert bank is not None and bank.webhook_url == ""


async def test_the_test_event_without_a_url_says_so(console: Api) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    csrf = csrf_in(await client.get("/portal/webhooks"))
    answer = await client.post("/portal/webhooks/test", data={"csrf": csrf})
    assert answer.status_code == 400
    assert 'data-testid="error-test"' in answer.text


async def test_a_form_naming_another_account_changes_only_the_users_own(
    console: Api, receiver: Receiver
) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    csrf = csrf_in(await client.get("/portal/webhooks"))
    form = {"webhook_url": receiver.url, "account": "shop", "account_id": "shop", "csrf": csrf}
    await client.post("/portal/webhooks?account=shop", data=form)
    await client.post("/portal/webhooks/secret?account=shop", data=form)
    shop, bank = console.engine.account("shop"), console.engine.account("bank")
    assert shop is not None and (shop.webhook_url, shop.webhook_secret) == ("", "")
    assert bank is not None and bank.webhook_url == receiver.url and bank.webhook_secret
