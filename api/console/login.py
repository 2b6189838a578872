"""The login and logout of the console (staff) and the portal (customers):
one form, one password check (`ConsoleUsers.login`, throttled with SMPP's
and the API's logins), two doors."""

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
)
from engine import LoginVerdict


def _home(role: str) -> str:
    return "/portal" if role == "customer" else "/console"


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
    session_id, _ = await console.users.open_session(outcome.user)
    target = safe_next(str(form.get("next", "")), _home(outcome.user.role))
    response = RedirectResponse(target, status_code=303)
    set_session(response, console, session_id)
    return response


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
async def console_logout(request: Request) -> Response:
    return await _logout(request, "console")


@page
async def portal_logout(request: Request) -> Response:
    return await _logout(request, "portal")
