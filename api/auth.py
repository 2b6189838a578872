"""Who is calling the customer API: the bearer API key names the account.

Every answer to a missing or bad key is the same 401 (RFC 6750 §3), so a
caller learns nothing about which keys exist.
"""

from __future__ import annotations

from starlette.requests import Request

from api.problems import Problem
from engine import AccountConfig, Engine

_CHALLENGE = 'Bearer realm="smsgw"'


def _unauthorized(detail: str, error: str = "") -> Problem:
    challenge = f'{_CHALLENGE}, error="{error}"' if error else _CHALLENGE
    return Problem(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": challenge}
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


async def account_of(request: Request) -> AccountConfig:
    """The account whose API key authorises ``request``, or a 401."""
    engine: Engine = request.app.state.engine
    key = bearer_key(request)
    try:
        account = await engine.account_for_key(key)
    except Exception as exc:  # the key store (Redis) does not answer
        raise Problem(503, "auth_unavailable", "Cannot check API keys now", str(exc)) from exc
    if account is None:
        raise _unauthorized("unknown or revoked API key", "invalid_token")
    return account
