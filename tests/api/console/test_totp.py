"""TOTP over HTTP: enrolment confirmed by a code, then the login asks for a
code after the password, a code is good once, failures lock out."""

from __future__ import annotations

import time

import httpx
import pyotp

from api.console.session import SESSION_COOKIE
from tests.api.console.conftest import LOCKOUT_AFTER, PASSWORD, csrf_in, log_in
from tests.api.harness import Api


async def _enrol(console: Api) -> str:
    client = console.client
    await log_in(client, "root")
    page = await client.get("/console/totp")
    assert 'data-testid="totp-state"' in page.text
    started = await client.post("/console/totp", data={"step": "start", "csrf": csrf_in(page)})
    secret = started.text.split('data-testid="totp-secret">')[1].split("<")[0]
    assert "otpauth://totp/smsgw:root" in started.text
    wrong = await client.post(
        "/console/totp", data={"step": "confirm", "code": "abc", "csrf": csrf_in(page)}
    )
    assert wrong.status_code == 400 and 'data-testid="error-code"' in wrong.text
    assert secret not in wrong.text and secret not in (await client.get("/console/totp")).text
    user = await console.engine.console.users.get("root")
    assert user is not None and user.totp_secret is None
    code = pyotp.TOTP(secret).now()
    done = await client.post(
        "/console/totp", data={"step": "confirm", "code": code, "csrf": csrf_in(page)}
    )
    assert done.status_code == 200 and "TOTP is on" in done.text
    await client.post("/console/logout", data={"csrf": csrf_in(page)})
    client.cookies.clear()
    return secret


async def _code_step(client: httpx.AsyncClient, code: str) -> httpx.Response:
    form = await log_in(client, "root")
    assert form.status_code == 200 and 'action="/console/login/code"' in form.text
    assert SESSION_COOKIE not in form.cookies
    return await client.post("/console/login/code", data={"code": code, "csrf": csrf_in(form)})


def _next_code(secret: str) -> str:
    """A code of the next step: the enrolment used the current one."""
    return pyotp.TOTP(secret).at(time.time() + 30)


async def test_enrolled_login_needs_the_code(console: Api) -> None:
    secret = await _enrol(console)
    answer = await _code_step(console.client, _next_code(secret))
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    assert (await console.client.get("/console")).status_code == 200


async def test_the_password_alone_opens_nothing(console: Api) -> None:
    await _enrol(console)
    form = await log_in(console.client, "root")
    assert form.status_code == 200
    assert (await console.client.get("/console")).status_code == 303


async def test_a_used_code_is_refused(console: Api) -> None:
    secret = await _enrol(console)
    code = _next_code(secret)
    assert (await _code_step(console.client, code)).status_code == 303
    console.client.cookies.clear()
    replay = await _code_step(console.client, code)
    assert replay.status_code == 401 and 'data-testid="error-code"' in replay.text


async def test_wrong_codes_count_in_the_lockout(console: Api) -> None:
    secret = await _enrol(console)
    form = await log_in(console.client, "root")
    csrf = csrf_in(form)
    right = _next_code(secret)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(LOCKOUT_AFTER):
        answer = await console.client.post(
            "/console/login/code", data={"code": wrong, "csrf": csrf}
        )
        assert answer.status_code == 401
    locked = await console.client.post("/console/login/code", data={"code": right, "csrf": csrf})
    assert locked.status_code == 429 and "Retry-After" in locked.headers


async def test_a_code_without_the_password_step_goes_back_to_the_login(console: Api) -> None:
    form = await console.client.get("/console/login")
    answer = await console.client.post(
        "/console/login/code", data={"code": "123456", "csrf": csrf_in(form)}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"


async def test_the_code_cookie_is_no_session(console: Api) -> None:
    await _enrol(console)
    form = await log_in(console.client, "root")
    pending = form.cookies["smsgw_login_code"]
    console.client.cookies.set(SESSION_COOKIE, pending)
    assert (await console.client.get("/console")).status_code == 303


async def test_an_admin_switches_totp_off_for_a_lost_phone(console: Api) -> None:
    await _enrol(console)
    await console.engine.console.users.create("boss", PASSWORD + "!", "admin")
    form = await console.client.get("/console/login")
    await console.client.post(
        "/console/login",
        data={"username": "boss", "password": PASSWORD + "!", "csrf": csrf_in(form)},
    )
    page = await console.client.get("/console/users")
    answer = await console.client.post("/console/users/root/totp-off", data={"csrf": csrf_in(page)})
    assert answer.status_code == 303
    user = await console.engine.console.users.get("root")
    assert user is not None and user.totp_secret is None


async def test_a_new_authenticator_needs_a_code_from_the_current_one(console: Api) -> None:
    secret = await _enrol(console)
    client = console.client
    assert (await _code_step(client, _next_code(secret))).status_code == 303
    page = await client.get("/console/totp")
    refused = await client.post("/console/totp", data={"step": "start", "csrf": csrf_in(page)})
    assert refused.status_code == 400 and 'data-testid="error-current_code"' in refused.text
    user = await console.engine.console.users.get("root")
    assert user is not None and user.totp_pending is None
    started = await client.post(
        "/console/totp",
        data={
            "step": "start",
            "current_code": pyotp.TOTP(secret).at(time.time() - 30),
            "csrf": csrf_in(page),
        },
    )
    assert started.status_code == 200 and 'data-testid="totp-secret"' in started.text
