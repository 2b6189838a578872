"""Who is calling: the bearer API key names the account, the admin key opens
the admin API, and Jasmin's username and password name an account.

Every answer to a missing or bad key is the same 401 (RFC 6750 §3), so a
caller learns nothing about which keys exist. Every check goes through the
shard's login throttle (`Engine.logins`, docs/security.md): failures from
one source are answered ever more slowly, then locked out for a while with
429 and Retry-After. Bearer keys are throttled per source only: a key has
256 random bits, so nobody guesses one, and locking its account would let
anyone lock a customer out. A key checked lately (`Engine.trusted_key_account`)
is answered from memory without the throttle: it is no guess, and its
client's burst of requests must not count as one.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from starlette.requests import Request

from api.problems import Problem
from engine import AccountConfig, Engine, LoginAttempt, LoginVerdict, ip_allowed

_CHALLENGE = 'Bearer realm="smsgw"'


def _unauthorized(detail: str, error: str = "") -> Problem:
    challenge = f'{_CHALLENGE}, error="{error}"' if error else _CHALLENGE
    return Problem(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": challenge}
    )


def _locked_out(attempt: LoginAttempt) -> Problem:
    seconds = max(1, math.ceil(attempt.retry_after))
    return Problem(
        429,
        "locked_out",
        "Too many failed logins",
        f"too many failed logins from this address; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def bearer_key(request: Request) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or a 401."""
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("an API key is needed: Authorization: Bearer <key>")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("the Authorization header must be: Bearer <key>", "invalid_request")
    return token


def source_of(request: Request) -> str:
    """The caller's address as the socket saw it (behind a proxy, the proxy's:
    see docs/security.md)."""
    return request.client.host if request.client is not None else ""


async def account_of(request: Request) -> AccountConfig:
    """The account whose API key authorises ``request``, or a 401 (429 when
    locked out)."""
    engine: Engine = request.app.state.engine
    key = bearer_key(request)
    account = engine.trusted_key_account(key)
    if account is not None:  # checked lately: not a guess, nothing to throttle
        return _from_allowed_ip(request, account)

    async def check() -> bool:
        nonlocal account
        try:
            account = await engine.account_for_key(key)
        except Exception as exc:  # the key store (Redis) does not answer
            raise Problem(503, "auth_unavailable", "Cannot check API keys now", str(exc)) from exc
        return account is not None

    attempt = await engine.logins.attempt("api_key", source_of(request), None, check)
    if attempt.verdict is LoginVerdict.LOCKED:
        raise _locked_out(attempt)
    if account is None:
        raise _unauthorized("unknown or revoked API key", "invalid_token")
    return _from_allowed_ip(request, account)


async def check_admin_key(request: Request) -> None:
    """Returns when the request carries the admin key: none is a 401, any
    other key (an account's, a wrong one) a 403, a locked-out source a 429."""
    engine: Engine = request.app.state.engine
    key = bearer_key(request)
    attempt = await engine.logins.attempt(
        "admin", source_of(request), None, _now(engine.is_admin_key(key))
    )
    if attempt.verdict is LoginVerdict.LOCKED:
        raise _locked_out(attempt)
    if attempt.verdict is LoginVerdict.REFUSED:
        raise Problem(403, "forbidden", "The admin key is needed", "this key is not the admin key")


async def password_account(request: Request, username: str, password: str) -> AccountConfig | None:
    """The account ``username`` names if ``password`` is its password (Jasmin's
    API); None for an unknown account, a wrong password and a lockout alike,
    throttled per source and per account as SMPP binds are."""
    engine: Engine = request.app.state.engine
    account: AccountConfig | None = None

    async def check() -> bool:
        nonlocal account
        account = await engine.account_for_password(username, password)
        return account is not None

    attempt = await engine.logins.attempt("jasmin", source_of(request), username, check)
    if attempt.verdict is not LoginVerdict.ACCEPTED or account is None:
        return None
    return _from_allowed_ip(request, account)


def _from_allowed_ip(request: Request, account: AccountConfig) -> AccountConfig:
    """``account`` if the caller's address is in its IP allow-list, else a 403:
    the credentials were right, so saying why is no help to a guesser."""
    if not ip_allowed(account.allowed_ips, source_of(request)):
        raise Problem(
            403,
            "ip_not_allowed",
            "Address not allowed",
            f"account {account.id!r} may not log in from {source_of(request)}",
        )
    return account


def _now(result: bool) -> Callable[[], Awaitable[bool]]:
    """A check whose answer is already known (the admin key is a fast hash)."""

    async def known() -> bool:
        return result

    return known
