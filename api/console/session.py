"""Who is at the browser: a signed session cookie naming a server-side
session, its CSRF token, and the role checks every page makes first.

The cookie holds ``<session id>.<HMAC-SHA256 of it>``: a forged or altered
id is refused before any store read. It is HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it) and Secure unless the
console is plain HTTP on loopback. Every POST must carry the session's CSRF
token in the form field ``csrf`` as well; the login form, before any
session, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.auth import source_of
from api.console.render import render
from engine import AccountConfig, ip_allowed
from engine.console import Console, ConsoleUser, Session

SESSION_COOKIE = "smsgw_session"
LOGIN_CSRF_COOKIE = "smsgw_login_csrf"
STAFF_ROLES = ("admin", "support")


class Halt(Exception):
    """Ends a page early with ``response`` (a redirect to the login, a 403)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def console_of(request: Request) -> Console:
    return request.app.state.engine.console


def _signature(secret: bytes, value: str) -> str:
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def signed(secret: bytes, session_id: str) -> str:
    return f"{session_id}.{_signature(secret, session_id)}"


def unsigned(secret: bytes, cookie: str) -> str | None:
    """The session id of a cookie we signed; None for anything else."""
    session_id, _, signature = cookie.rpartition(".")
    if not session_id or not _same(signature, _signature(secret, session_id)):
        return None
    return session_id


async def current_session(request: Request) -> tuple[str, Session, ConsoleUser] | None:
    """The request's session id, session and user; read once per request."""
    if "console_session" in request.scope:
        return request.scope["console_session"]  # type: ignore[no-any-return]
    console = console_of(request)
    found = None
    session_id = unsigned(console.secret, request.cookies.get(SESSION_COOKIE, ""))
    if session_id is not None:
        opened = await console.users.session(session_id)
        if opened is not None:
            found = (session_id, *opened)
    request.scope["console_session"] = found
    return found


async def current_user(request: Request) -> ConsoleUser | None:
    found = await current_session(request)
    return None if found is None else found[2]


async def require_user(request: Request, *roles: str) -> ConsoleUser:
    """The logged-in user if its role is one of ``roles`` (any, when none is
    given); on a POST the form's CSRF token must match the session's. Else
    `Halt`: to the login page (303) without a session, a 403 page otherwise."""
    found = await current_session(request)
    if found is None:
        login = "/portal/login" if request.url.path.startswith("/portal") else "/console/login"
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Halt(RedirectResponse(f"{login}?next={quote(target, safe='')}", status_code=303))
    _, session, user = found
    if roles and user.role not in roles:
        raise Halt(forbidden(request, "Your role may not open this page."))
    if request.method == "POST":
        form = await request.form()
        if not _same(str(form.get("csrf", "")), session.csrf):
            raise Halt(forbidden(request, "The form expired or did not come from this site."))
    return user


PORTAL_ROLES = ("customer", "reseller")


async def require_own_account(request: Request) -> tuple[ConsoleUser, AccountConfig]:
    """A portal user and its own account (`require_user` first): the only
    account a portal page may name, never one taken from the request."""
    user = await require_user(request, *PORTAL_ROLES)
    account = request.app.state.engine.account(user.account or "")
    if account is None:
        raise Halt(forbidden(request, "Your account is not on this gateway."))
    if not ip_allowed(account.allowed_ips, source_of(request)):
        # The portal issues keys and sends: the account's allow-list binds it too.
        raise Halt(forbidden(request, "Your account may not be used from this address."))
    return user, account


async def csrf_of(request: Request) -> str:
    found = await current_session(request)
    return "" if found is None else found[1].csrf


def forbidden(request: Request, reason: str) -> Response:
    return render(request, "forbidden.html", {"reason": reason}, status=403)


def set_session(response: Response, console: Console, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        signed(console.secret, session_id),
        httponly=True,
        samesite="strict",
        secure=console.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")


def clear_session(response: Response, console: Console) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=console.secure_cookies,
    )


def login_csrf(request: Request) -> str:
    """The login form's token: the cookie's, or a new one to set."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_csrf(response: Response, console: Console, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=console.secure_cookies,
        path="/",
    )


def login_csrf_ok(request: Request, given: str) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(expected) and _same(given, expected)


def safe_next(given: str, default: str) -> str:
    """Only a path of this console or portal: never another site (open redirect)."""
    if given.startswith(("/console", "/portal")) and "//" not in given and "\\" not in given:
        return given
    return default


Page = Callable[[Request], Awaitable[Response]]


def page(handler: Page) -> Page:
    """An endpoint whose `Halt` becomes its answer."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Halt as halt:
            return halt.response

    endpoint.__name__ = handler.__name__
    return endpoint


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison that any text may be given to (compare_digest
    raises TypeError on non-ASCII str: a crafted cookie was a 500)."""
    return hmac.compare_digest(given.encode(), expected.encode())
