"""The users page: admins create, disable, enable and reset users (audited
as ``console:<admin>``); support reads; errors show next to their field."""

from __future__ import annotations

from tests.api.console.conftest import PASSWORD, csrf_in, log_in
from tests.api.harness import Api

NEW_PASSWORD = "a long new password"


async def _admin_csrf(console: Api) -> str:
    await log_in(console.client, "root")
    return csrf_in(await console.client.get("/console/users"))


async def test_the_list_shows_users_their_role_and_account(console: Api) -> None:
    await log_in(console.client, "root")
    page = await console.client.get("/console/users")
    assert page.status_code == 200
    assert 'data-testid="user-bank-user"' in page.text
    assert 'action="/console/users"' in page.text


async def test_admin_creates_a_support_user_who_logs_in(console: Api) -> None:
    csrf = await _admin_csrf(console)
    data = {"name": "ops", "role": "support", "account": "", "password": NEW_PASSWORD}
    answer = await console.client.post("/console/users", data={**data, "csrf": csrf})
    assert answer.status_code == 303
    outcome = await console.engine.console.users.login("ops", NEW_PASSWORD, "10.1.1.1")
    assert outcome.user is not None and outcome.user.role == "support"
    [entry] = [
        e for e in await console.engine.admin.audit.recent(10) if e.target == "console_user:ops"
    ]
    assert (entry.actor, entry.action) == ("console:root", "console_user.create")


async def test_a_customer_needs_an_existing_account(console: Api) -> None:
    csrf = await _admin_csrf(console)
    data = {"name": "c1", "role": "customer", "account": "nope", "password": NEW_PASSWORD}
    answer = await console.client.post("/console/users", data={**data, "csrf": csrf})
    assert answer.status_code == 400
    assert 'data-testid="error-account"' in answer.text
    data["account"] = ""
    answer = await console.client.post("/console/users", data={**data, "csrf": csrf})
    assert 'data-testid="error-account"' in answer.text
    data["account"] = "bank"
    answer = await console.client.post("/console/users", data={**data, "csrf": csrf})
    assert answer.status_code == 303


async def test_bad_fields_show_next_to_the_field(console: Api) -> None:
    csrf = await _admin_csrf(console)
    cases = [
        ({"name": "bad name", "role": "admin", "password": NEW_PASSWORD}, "name", 400),
        ({"name": "x1", "role": "admin", "password": "short"}, "password", 400),
        ({"name": "x1", "role": "boss", "password": NEW_PASSWORD}, "role", 400),
        ({"name": "helpdesk", "role": "admin", "password": NEW_PASSWORD}, "name", 409),
    ]
    for data, field, status in cases:
        answer = await console.client.post("/console/users", data={**data, "csrf": csrf})
        assert answer.status_code == status, (data, answer.text)
        assert f'data-testid="error-{field}"' in answer.text


async def test_disable_and_enable(console: Api) -> None:
    csrf = await _admin_csrf(console)
    answer = await console.client.post(
        "/console/users/helpdesk/disabled", data={"disabled": "1", "csrf": csrf}
    )
    assert answer.status_code == 303
    assert (await console.engine.console.users.login("helpdesk", PASSWORD, "x")).user is None
    await console.client.post(
        "/console/users/helpdesk/disabled", data={"disabled": "0", "csrf": csrf}
    )
    assert (await console.engine.console.users.login("helpdesk", PASSWORD, "x")).user is not None
    actions = [e.action for e in await console.engine.admin.audit.recent(10)]
    assert actions[:2] == ["console_user.enable", "console_user.disable"]


async def test_an_admin_cannot_disable_itself(console: Api) -> None:
    csrf = await _admin_csrf(console)
    answer = await console.client.post(
        "/console/users/root/disabled", data={"disabled": "1", "csrf": csrf}
    )
    assert answer.status_code == 409
    assert 'data-testid="error-root"' in answer.text
    root = await console.engine.console.users.get("root")
    assert root is not None and not root.disabled


async def test_reset_password_shows_a_generated_one_once(console: Api) -> None:
    csrf = await _admin_csrf(console)
    answer = await console.client.post("/console/users/helpdesk/password", data={"csrf": csrf})
    assert answer.status_code == 200
    shown = (
        answer.text.split('data-testid="new-password"')[1].split("<code>")[1].split("</code>")[0]
    )
    assert (await console.engine.console.users.login("helpdesk", shown, "x")).user is not None
    again = await console.client.get("/console/users")
    assert shown not in again.text


async def test_support_reads_the_list_but_changes_nothing(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/users")
    assert page.status_code == 200
    assert 'action="/console/users"' not in page.text
    csrf = csrf_in(page)
    for path, data in [
        ("/console/users", {"name": "x2", "role": "admin", "password": NEW_PASSWORD}),
        ("/console/users/root/disabled", {"disabled": "1"}),
        ("/console/users/root/password", {}),
    ]:
        answer = await console.client.post(path, data={**data, "csrf": csrf})
        assert answer.status_code == 403, path
    assert await console.engine.console.users.get("x2") is None


async def test_customers_cannot_see_the_users(console: Api) -> None:
    await log_in(console.client, "bank-user", "portal")
    assert (await console.client.get("/console/users")).status_code == 403
