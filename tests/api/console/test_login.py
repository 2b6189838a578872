"""Logging in and out, the lockout shared with the other doors, CSRF and roles."""

from __future__ import annotations

from api.console.session import SESSION_COOKIE
from tests.api.console.conftest import LOCKOUT_AFTER, PASSWORD, csrf_in, log_in
from tests.api.harness import Api


async def test_login_opens_a_session_and_lands_on_the_console(console: Api) -> None:
    client = console.client
    answer = await log_in(client, "root")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console"
    cookie = answer.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = await client.get("/console")
    assert page.status_code == 200
    assert 'data-testid="connectors"' in page.text


async def test_no_session_redirects_to_the_login_with_next(console: Api) -> None:
    answer = await console.client.get("/console/accounts")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Faccounts"
    answer = await console.client.get("/portal/messages")
    assert answer.headers["location"] == "/portal/login?next=%2Fportal%2Fmessages"


async def test_wrong_password_shows_the_error_next_to_the_field(console: Api) -> None:
    form = await console.client.get("/console/login")
    answer = await console.client.post(
        "/console/login", data={"username": "root", "password": "nope", "csrf": csrf_in(form)}
    )
    assert answer.status_code == 401
    assert 'data-testid="error-password"' in answer.text
    assert SESSION_COOKIE not in answer.cookies


async def test_bad_passwords_lock_the_user_out_even_with_the_right_one(console: Api) -> None:
    client = console.client
    csrf = csrf_in(await client.get("/console/login"))
    for _ in range(LOCKOUT_AFTER):
        await client.post(
            "/console/login", data={"username": "root", "password": "guess", "csrf": csrf}
        )
    answer = await client.post(
        "/console/login", data={"username": "root", "password": PASSWORD, "csrf": csrf}
    )
    assert answer.status_code == 429
    assert "Retry-After" in answer.headers
    assert "Too many failed logins" in answer.text
    assert console.engine.logins.guard.counts["console", "locked_out"] >= 1


async def test_login_without_its_csrf_token_is_refused(console: Api) -> None:
    await console.client.get("/console/login")
    answer = await console.client.post(
        "/console/login", data={"username": "root", "password": PASSWORD}
    )
    assert answer.status_code == 403


async def test_a_post_without_the_session_csrf_token_is_refused(console: Api) -> None:
    await log_in(console.client, "root")
    answer = await console.client.post("/console/accounts", data={"id": "evil"})
    assert answer.status_code == 403
    assert "evil" not in console.engine.gateway.accounts


async def test_a_customer_gets_403_on_the_console(console: Api) -> None:
    answer = await log_in(console.client, "bank-user", "portal")
    assert answer.headers["location"] == "/portal"
    assert (await console.client.get("/console")).status_code == 403
    assert (await console.client.get("/console/accounts")).status_code == 403


async def test_support_reads_but_cannot_change(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/accounts")
    assert page.status_code == 200
    assert 'action="/console/accounts"' not in page.text
    answer = await console.client.post(
        "/console/accounts",
        data={"id": "new1", "csrf": csrf_in(await console.client.get("/console"))},
    )
    assert answer.status_code == 403


async def test_logout_ends_the_session(console: Api) -> None:
    await log_in(console.client, "root")
    page = await console.client.get("/console")
    answer = await console.client.post("/console/logout", data={"csrf": csrf_in(page)})
    assert answer.status_code == 303
    assert (await console.client.get("/console")).status_code == 303


async def test_secure_cookies_unless_plain_http(console: Api) -> None:
    console.engine.console.secure_cookies = True
    form = await console.client.get("/console/login")
    assert "secure" in form.headers["set-cookie"].lower()
