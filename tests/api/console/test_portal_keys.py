"""The portal's API keys: listed without the key, issued once, revoked (and
then refused by the v1 API), audited as the portal user; never another
account's."""

from __future__ import annotations

from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api


def new_key_in(page: str) -> str:
    return page.split('data-testid="new-key">')[1].split("<")[0]


async def test_issue_then_revoke_a_key_audited_as_the_portal_user(console: Api) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    listed = await client.get("/portal/keys")
    assert listed.status_code == 200
    (harness_key,) = await console.engine.admin.api_keys_of("bank")
    assert f'data-testid="key-{harness_key.key_id}"' in listed.text
    assert console.keys["bank"] not in listed.text

    issued = await client.post(
        "/portal/keys", data={"label": "billing server", "csrf": csrf_in(listed)}
    )
    assert issued.status_code == 201
    key = new_key_in(issued.text)
    answer = await client.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    keys = await console.engine.admin.api_keys_of("bank")
    (record,) = [k for k in keys if k.key_id != harness_key.key_id]
    assert record.label == "billing server"
    assert key not in (await client.get("/portal/keys")).text

    revoked = await client.post(
        f"/portal/keys/{record.key_id}/revoke", data={"csrf": csrf_in(issued)}
    )
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/portal/keys")
    answer = await client.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 401
    page = await client.get("/portal/keys")
    assert f'data-testid="revoke-{record.key_id}"' not in page.text
    actions = [
        (entry.actor, entry.action, entry.target)
        for entry in await console.engine.admin.audit.recent(10)
    ]
    assert ("portal:bank-user", "api_key.issue", "bank") in actions
    assert ("portal:bank-user", "api_key.revoke", "bank") in actions


async def test_a_customer_cannot_see_or_revoke_another_accounts_key(console: Api) -> None:
    client = console.client
    (shop_key,) = await console.engine.admin.api_keys_of("shop")
    await log_in(client, "bank-user", "portal")
    page = await client.get("/portal/keys")
    assert shop_key.key_id not in page.text
    answer = await client.post(
        f"/portal/keys/{shop_key.key_id}/revoke", data={"csrf": csrf_in(page)}
    )
    assert answer.status_code == 404
    assert 'data-testid="error-revoke"' in answer.text
    (still,) = await console.engine.admin.api_keys_of("shop")
    assert still.revoked_at == 0
    ok = await client.get("/v1/balance", headers=console.auth("shop"))
    assert ok.status_code == 200


async def test_a_bad_label_shows_its_error_next_to_the_field(console: Api) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    csrf = csrf_in(await client.get("/portal/keys"))
    answer = await client.post("/portal/keys", data={"label": "x" * 65, "csrf": csrf})
    assert answer.status_code == 400
    assert 'data-testid="error-label"' in answer.text
    assert len(await console.engine.admin.api_keys_of("bank")) == 1


async def test_a_post_without_the_csrf_token_changes_nothing(console: Api) -> None:
    client = console.client
    await log_in(client, "bank-user", "portal")
    answer = await client.post("/portal/keys", data={"label": "x"})
    assert answer.status_code == 403
    assert len(await console.engine.admin.api_keys_of("bank")) == 1


async def test_staff_and_strangers_do_not_get_the_portal_pages(console: Api) -> None:
    client = console.client
    anonymous = await client.get("/portal/keys")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/portal/login")
    await log_in(client, "helpdesk")
    for path in ("/portal/keys", "/portal/webhooks", "/portal/opt-outs", "/portal/invoices"):
        assert (await client.get(path)).status_code == 403, path
