"""The console's users page (admin; support may read): who may log in, with
which role, whether TOTP is on; creating, disabling and enabling users,
resetting passwords. Every change goes through `ConsoleUsers` (the same calls
as ``smsgw console users``) and is audited as ``console:<user>``.

And each staff user's own TOTP enrolment (/console/totp): a new secret is
shown with its ``otpauth://`` URI, and TOTP is switched on only once a code
from it is confirmed, so nobody is locked out by a secret their phone never
read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.auth import source_of
from api.console.render import render
from api.console.session import STAFF_ROLES, console_of, page, require_user
from engine import Engine, acting_as
from engine.console import ACCOUNT_ROLES, ROLES, UserRefused
from engine.console.totp import provisioning_uri

_FIELDS = ("name", "role", "account")


def _engine(request: Request) -> Engine:
    return request.app.state.engine


async def _users_page(
    request: Request, context: dict[str, object] | None = None, status: int = 200
) -> Response:
    values: dict[str, object] = {
        "users": await console_of(request).users.users(),
        "roles": ROLES,
        "errors": {},
        "values": {},
        **(context or {}),
    }
    return render(request, "staff_users.html", values, status)


@page
async def users(request: Request) -> Response:
    """GET lists the users; POST creates one."""
    if request.method == "GET":
        await require_user(request, *STAFF_ROLES)
        return await _users_page(request)
    admin = await require_user(request, "admin")
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in _FIELDS}
    password = str(form.get("password", ""))
    account = values["account"] or None
    if values["role"] in ACCOUNT_ROLES and account and _engine(request).account(account) is None:
        errors = {"account": "No such account."}
        return await _users_page(request, {"errors": errors, "values": values}, 400)
    try:
        with acting_as(f"console:{admin.name}"):
            await console_of(request).users.create(
                values["name"], password, values["role"], account
            )
    except UserRefused as refused:
        errors = {refused.field: str(refused)}
        status = 409 if "exists" in str(refused) else 400
        return await _users_page(request, {"errors": errors, "values": values}, status)
    return RedirectResponse("/console/users", status_code=303)


@page
async def disabled(request: Request) -> Response:
    """POST ``disabled`` = 1 disables the user, 0 enables it again."""
    admin = await require_user(request, "admin")
    form = await request.form()
    name = request.path_params["name"]
    try:
        with acting_as(f"console:{admin.name}"):
            await console_of(request).users.set_disabled(
                admin.name, name, str(form.get("disabled", "")) == "1"
            )
    except UserRefused as refused:
        return await _users_page(request, {"row_errors": {name: str(refused)}}, 409)
    return RedirectResponse("/console/users", status_code=303)


@page
async def password(request: Request) -> Response:
    """A new password for the user: the one typed, or a generated one shown this once."""
    admin = await require_user(request, "admin")
    form = await request.form()
    name = request.path_params["name"]
    typed = str(form.get("password", "")) or None
    try:
        with acting_as(f"console:{admin.name}"):
            new = await console_of(request).users.reset_password(name, typed)
    except UserRefused as refused:
        return await _users_page(request, {"row_errors": {name: str(refused)}}, 400)
    shown = {"user": name, "password": new if typed is None else None}
    return await _users_page(request, {"new_password": shown})


@page
async def totp_off(request: Request) -> Response:
    """TOTP off for a user who lost the phone: the next login asks for the password only."""
    admin = await require_user(request, "admin")
    name = request.path_params["name"]
    try:
        with acting_as(f"console:{admin.name}"):
            await console_of(request).users.clear_totp(name)
    except UserRefused as refused:
        return await _users_page(request, {"row_errors": {name: str(refused)}}, 404)
    return RedirectResponse("/console/users", status_code=303)


@page
async def totp(request: Request) -> Response:
    """GET shows the state; POST ``step=start`` shows a new secret,
    ``step=confirm`` checks a code from it."""
    me = await require_user(request, *STAFF_ROLES)
    users = console_of(request).users
    errors: dict[str, str] = {}
    status = 200
    started = False
    if request.method == "POST":
        form = await request.form()
        if str(form.get("step", "")) == "start":
            current = await users.get(me.name)
            assert current is not None
            code = str(form.get("current_code", "")).strip()
            if current.totp_secret is not None and not (
                code and await users.current_code_ok(me.name, code, source_of(request))
            ):
                errors["current_code"] = "Type the code your current authenticator shows."
                status = 400
            else:
                await users.start_totp(me.name)
                started = True
        else:
            code = str(form.get("code", "")).strip()
            with acting_as(f"console:{me.name}"):
                confirmed = bool(code) and await users.confirm_totp(me.name, code)
            if not confirmed:
                errors["code"] = "Wrong code: type the one your app shows now."
                status = 400
    user = await users.get(me.name)
    assert user is not None
    pending = user.totp_pending
    shown = pending if started else None  # the secret is shown once, as it is made
    context = {
        "on": user.totp_secret is not None,
        "pending": pending is not None,
        "secret": shown,
        "uri": provisioning_uri(shown, user.name) if shown else None,
        "errors": errors,
    }
    return render(request, "staff_totp.html", context, status)
