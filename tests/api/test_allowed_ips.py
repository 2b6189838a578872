"""IP allow-lists at HTTP auth: a right API key or Jasmin password from an
address outside the account's list is a 403 ``ip_not_allowed``. The test
client's address is 127.0.0.1 (httpx's ASGI transport)."""

from __future__ import annotations

from engine import AccountChanges
from tests.api.harness import Api, running_api
from tests.api.test_admin import ADMIN, admin_api

ELSEWHERE = ["192.0.2.0/24"]
HERE = ["192.0.2.0/24", "127.0.0.1"]


async def _allow(api: Api, allowed: list[str]) -> None:
    await api.engine.admin.update_account("bank", AccountChanges(allowed_ips=allowed))


async def test_bearer_key_from_outside_the_list_is_403() -> None:
    async with running_api("memory") as api:
        assert (await api.client.get("/v1/balance", headers=api.auth())).status_code == 200
        await _allow(api, ELSEWHERE)  # the key is now trusted: the check runs all the same
        answer = await api.client.get("/v1/balance", headers=api.auth())
        assert answer.status_code == 403
        assert answer.json()["code"] == "ip_not_allowed"
        shop = await api.client.get("/v1/balance", headers=api.auth("shop"))
        assert shop.status_code == 200  # another account's list is its own
        await _allow(api, HERE)
        assert (await api.client.get("/v1/balance", headers=api.auth())).status_code == 200


async def test_jasmin_password_from_outside_the_list_is_403() -> None:
    credentials = {"username": "bank", "password": "secret"}
    async with running_api("memory") as api:
        await _allow(api, ELSEWHERE)
        answer = await api.client.get("/balance", params=credentials)
        assert answer.status_code == 403
        assert answer.json()["code"] == "ip_not_allowed"
        wrong = await api.client.get("/balance", params={**credentials, "password": "wrong"})
        assert wrong.status_code == 403 and "ip_not_allowed" not in wrong.text
        await _allow(api, HERE)
        assert (await api.client.get("/balance", params=credentials)).status_code == 200


async def test_admin_api_refuses_a_bad_entry_with_422() -> None:
    async with admin_api() as api:
        answer = await api.client.patch(
            "/admin/accounts/bank", json={"allowed_ips": ["10.0.0.1/8"]}, headers=ADMIN
        )
        assert answer.status_code == 422
        assert answer.json()["code"] == "invalid_allowed_ips"
        assert "10.0.0.1/8" in answer.json()["detail"]
        good = await api.client.patch(
            "/admin/accounts/bank", json={"allowed_ips": ["10.0.0.0/8"]}, headers=ADMIN
        )
        assert good.status_code == 200 and good.json()["allowed_ips"] == ["10.0.0.0/8"]
