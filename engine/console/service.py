"""Console users: adding them, checking their passwords, their sessions.

Every password check goes through the shard's `Logins` (channel
``console``), so the console, SMPP and the HTTP API share one throttle and
lockout policy (docs/security.md). argon2id hashing is slow on purpose and
runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.console.store import Clock, ConsoleUserStore
from engine.console.users import ConsoleUser, Role, Session
from engine.customers.logins import LoginAttempt, Logins, LoginVerdict

SESSION_SECONDS = 8 * 3600.0
"""A working day: a console left open overnight asks for the password again."""


class LoginOutcome(NamedTuple):
    attempt: LoginAttempt
    user: ConsoleUser | None
    """Set only when the attempt was accepted."""


class ConsoleUsers:
    def __init__(
        self,
        store: ConsoleUserStore,
        logins: Logins,
        hasher: PasswordHasher | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self._logins = logins
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self._decoy = self._hasher.hash(secrets.token_hex(16))
        """Checked for unknown names: as slow as a wrong password, so the
        answer time does not tell which users exist."""

    async def add(
        self, name: str, password: str, role: Role, account: str | None = None
    ) -> ConsoleUser:
        """Creates or replaces ``name`` with a new password."""
        digest = await asyncio.to_thread(self._hasher.hash, password)
        user = ConsoleUser(name=name, role=role, password_hash=digest, account=account)
        await self.store.put(user)
        return user

    async def get(self, name: str) -> ConsoleUser | None:
        return await self.store.get(name)

    async def login(self, name: str, password: str, source: str) -> LoginOutcome:
        """The user if ``password`` is theirs and neither ``source`` nor
        ``name`` is locked out."""
        found: ConsoleUser | None = None

        async def check() -> bool:
            nonlocal found
            user = await self.store.get(name)
            digest = user.password_hash if user is not None else self._decoy
            matched = await asyncio.to_thread(self._verify, digest, password)
            if matched and user is not None and not user.disabled:
                found = user
                return True
            return False

        attempt = await self._logins.attempt("console", source, name, check)
        return LoginOutcome(attempt, found if attempt.verdict is LoginVerdict.ACCEPTED else None)

    async def open_session(self, user: ConsoleUser) -> tuple[str, Session]:
        """A new session id (never reused from before the login) and its CSRF token."""
        session_id = secrets.token_urlsafe(32)
        session = Session(
            user=user.name,
            csrf=secrets.token_urlsafe(32),
            expires_at=self._clock() + SESSION_SECONDS,
        )
        await self.store.put_session(session_id, session)
        return session_id, session

    async def session(self, session_id: str) -> tuple[Session, ConsoleUser] | None:
        """The session and its user, unless expired or the user is gone or disabled."""
        session = await self.store.get_session(session_id)
        if session is None or session.expires_at <= self._clock():
            return None
        user = await self.store.get(session.user)
        if user is None or user.disabled:
            return None
        return session, user

    async def close_session(self, session_id: str) -> None:
        await self.store.drop_session(session_id)

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self._hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False


class Console:
    """What the console's routes need, attached to the engine as ``engine.console``."""

    def __init__(self, users: ConsoleUsers, secret: bytes, secure_cookies: bool) -> None:
        if len(secret) < 32:
            raise ValueError("the console's cookie secret needs at least 32 bytes")
        self.users = users
        self.secret = secret
        self.secure_cookies = secure_cookies
        """False only for plain HTTP on loopback (``smsgw dev``)."""
