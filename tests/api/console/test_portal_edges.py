"""The portal behind the account's IP allow-list, and crafted input that must
be refused, never a server error."""

from __future__ import annotations

import pytest

from api.console.accounts import money
from api.console.resellers import portal as resellers
from engine import AccountChanges
from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api


async def test_the_portal_honours_the_accounts_ip_allow_list(console: Api) -> None:
    await log_in(console.client, "bank-user", "portal")
    assert (await console.client.get("/portal/keys")).status_code == 200
    await console.engine.admin.update_account("bank", AccountChanges(allowed_ips=["10.0.0.0/8"]))
    for path in ("/portal", "/portal/keys", "/portal/messages", "/portal/usage", "/portal/send"):
        answer = await console.client.get(path)
        assert answer.status_code == 403, path
    form = await console.client.post("/portal/keys", data={"label": "x", "csrf": "whatever"})
    assert form.status_code == 403
    assert [k.label for k in await console.engine.admin.api_keys_of("bank")] == ["test"]


async def test_a_non_ascii_csrf_token_or_cookie_is_refused_not_a_crash(console: Api) -> None:
    await log_in(console.client, "root")
    page = await console.client.get("/console/accounts")
    assert csrf_in(page)
    refused = await console.client.post("/console/accounts", data={"id": "x", "csrf": "é"})
    assert refused.status_code == 403
    forged = {"cookie": "smsgw_session=\u00e9.\u00e9".encode("latin-1")}
    answer = await console.client.get("/console", headers=forged)
    assert answer.status_code in (302, 303)


def test_huge_amounts_and_percents_are_field_errors_not_overflows() -> None:
    for parse in (money.amount_of, money.basis_points_of, resellers.amount_of, resellers.markup_of):
        with pytest.raises(ValueError, match="smaller"):
            parse("1e999999")
