"""The login and logout of the console (staff) and the portal (customers):
one form, one password check (`ConsoleUsers.login`, throttled with SMPP's
and the API's logins), two doors. A user with TOTP on gets a second form
after the right password; only its code opens the session."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.auth import source_of
from api.console.render import render
from api.console.session import (
    clear_session,
    console_of,
    current_session,
    login_csrf,
    login_csrf_ok,
    page,
    require_user,
    safe_next,
    set_login_csrf,
    set_session,
    signed,
    unsigned,
)
from engine import LoginVerdict
from engine.console import ConsoleUser, LoginOutcome

CODE_COOKIE = "smsgw_login_code"
"""Names the login waiting for its TOTP code; never a session (`awaiting_code`)."""


def _home(role: str) -> str:
    return "/portal" if role in ("customer", "reseller") else "/console"


def _form(request: Request, door: str, errors: dict[str, str], status: int = 200) -> Response:
    token = login_csrf(request)
    context = {
        "door": door,
        "errors": errors,
        "login_csrf": token,
        "next": safe_next(request.query_params.get("next", ""), ""),
        "username": request.scope.get("console_username", ""),
    }
    response = render(request, "login.html", context, status)
    set_login_csrf(response, console_of(request), token)
    return response


async def _show(request: Request, door: str) -> Response:
    found = await current_session(request)
    if found is not None:
        return RedirectResponse(_home(found[2].role), status_code=303)
    return _form(request, door, {})


async def _submit(request: Request, door: str) -> Response:
    form = await request.form()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    request.scope["console_username"] = username
    if not login_csrf_ok(request, str(form.get("csrf", ""))):
        return _form(request, door, {"password": "The form expired: please try again."}, 403)
    errors = {}
    if not username:
        errors["username"] = "Enter your user name."
    if not password:
        errors["password"] = "Enter your password."
    if errors:
        return _form(request, door, errors, 400)
    console = console_of(request)
    outcome = await console.users.login(username, password, source_of(request))
    if outcome.attempt.verdict is LoginVerdict.LOCKED:
        seconds = max(1, math.ceil(outcome.attempt.retry_after))
        message = f"Too many failed logins: try again in {seconds} s."
        response = _form(request, door, {"password": message}, 429)
        response.headers["Retry-After"] = str(seconds)
        return response
    if outcome.user is None:
        return _form(request, door, {"password": "Wrong user name or password."}, 401)
    if outcome.user.totp_secret is not None:
        pending_id = await console.users.await_code(outcome.user)
        response = _code_form(request, door, {}, str(form.get("next", "")))
        response.set_cookie(
            CODE_COOKIE,
            signed(console.secret, pending_id),
            httponly=True,
            samesite="strict",
            secure=console.secure_cookies,
            path=f"/{door}/login",
        )
        return response
    return await _logged_in(request, outcome.user, str(form.get("next", "")))


async def _logged_in(request: Request, user: ConsoleUser, given_next: str) -> Response:
    console = console_of(request)
    session_id, _ = await console.users.open_session(user)
    response = RedirectResponse(safe_next(given_next, _home(user.role)), status_code=303)
    set_session(response, console, session_id)
    return response


def _code_form(
    request: Request, door: str, errors: dict[str, str], given_next: str, status: int = 200
) -> Response:
    token = login_csrf(request)
    context = {
        "door": door,
        "errors": errors,
        "login_csrf": token,
        "next": safe_next(given_next, ""),
    }
    response = render(request, "login_code.html", context, status)
    set_login_csrf(response, console_of(request), token)
    return response


async def _submit_code(request: Request, door: str) -> Response:
    form = await request.form()
    given_next = str(form.get("next", ""))
    code = str(form.get("code", "")).strip()
    if not login_csrf_ok(request, str(form.get("csrf", ""))):
        return _code_form(request, door, {"code": "The form expired: please try again."}, "", 403)
    console = console_of(request)
    pending_id = unsigned(console.secret, request.cookies.get(CODE_COOKIE, ""))
    if pending_id is None:
        return RedirectResponse(f"/{door}/login", status_code=303)
    if not code:
        return _code_form(request, door, {"code": "Enter the code."}, given_next, 400)
    outcome = await console.users.second_step(pending_id, code, source_of(request))
    refused = _code_refusal(outcome)
    if refused is not None:
        message, status = refused
        response = _code_form(request, door, {"code": message}, given_next, status)
        if status == 429:
            response.headers["Retry-After"] = str(max(1, math.ceil(outcome.attempt.retry_after)))
        return response
    assert outcome.user is not None
    response = await _logged_in(request, outcome.user, given_next)
    response.delete_cookie(CODE_COOKIE, path=f"/{door}/login")
    return response


def _code_refusal(outcome: LoginOutcome) -> tuple[str, int] | None:
    if outcome.attempt.verdict is LoginVerdict.LOCKED:
        seconds = max(1, math.ceil(outcome.attempt.retry_after))
        return f"Too many failed logins: try again in {seconds} s.", 429
    if outcome.user is None:
        return "Wrong or used code, or the login took too long.", 401
    return None


async def _logout(request: Request, door: str) -> Response:
    await require_user(request)  # checks the CSRF token: no logging out from elsewhere
    found = await current_session(request)
    console = console_of(request)
    if found is not None:
        await console.users.close_session(found[0])
    response = RedirectResponse(f"/{door}/login", status_code=303)
    clear_session(response, console)
    return response


@page
async def console_login(request: Request) -> Response:
    if request.method == "POST":
        return await _submit(request, "console")
    return await _show(request, "console")


@page
async def portal_login(request: Request) -> Response:
    if request.method == "POST":
        return await _submit(request, "portal")
    return await _show(request, "portal")


@page
async def console_login_code(request: Request) -> Response:
    return await _submit_code(request, "console")


@page
async def portal_login_code(request: Request) -> Response:
    return await _submit_code(request, "portal")


@page
async def console_logout(request: Request) -> Response:
    return await _logout(request, "console")


@page
async def portal_logout(request: Request) -> Response:
    return await _logout(request, "portal")
