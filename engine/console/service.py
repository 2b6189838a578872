"""Console users: adding them, checking their passwords, their sessions.

Every password check goes through the shard's `Logins` (channel
``console``), so the console, SMPP and the HTTP API share one throttle and
lockout policy (docs/security.md). argon2id hashing is slow on purpose and
runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from typing import NamedTuple

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.admin.audit import AuditLog
from engine.console import totp
from engine.console.store import Clock, ConsoleUserStore
from engine.console.users import ACCOUNT_ROLES, ROLES, ConsoleUser, Role, Session
from engine.customers.logins import LoginAttempt, Logins, LoginVerdict

SESSION_SECONDS = 8 * 3600.0
"""A working day: a console left open overnight asks for the password again."""
_USER_NAME = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")
CODE_WAIT_SECONDS = 300.0
"""How long the password step waits for its TOTP code."""
MIN_PASSWORD = 10
"""Characters: argon2 and the lockout make guessing slow, not a short password safe."""


class UserRefused(ValueError):
    """A user change refused; ``field`` names the form field it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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
        audit: AuditLog | None = None,
    ) -> None:
        self.store = store
        self.audit = audit
        """Where user changes are recorded (`install_console` sets the engine's)."""
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

    async def users(self) -> list[ConsoleUser]:
        return await self.store.users()

    async def create(
        self, name: str, password: str, role: str, account: str | None = None
    ) -> ConsoleUser:
        """A new user (never a replaced one), audited; `UserRefused` names
        the field that is wrong. Whether ``account`` exists the caller checks."""
        if role not in ROLES:
            raise UserRefused("role", f"The role is one of {', '.join(ROLES)}.")
        if not _USER_NAME.fullmatch(name):
            raise UserRefused("name", "1 to 64 of A-Z a-z 0-9 _ . @ -")
        if role in ACCOUNT_ROLES and not account:
            raise UserRefused("account", f"A {role} user acts for an account: name it.")
        if role not in ACCOUNT_ROLES and account:
            raise UserRefused("account", "Only customer and reseller users have an account.")
        _check_password(password)
        if await self.store.get(name) is not None:
            raise UserRefused("name", "A user of this name exists.")
        user = await self.add(name, password, role, account)  # type: ignore[arg-type]
        await self._record("console_user.create", name, role=role, account=account)
        return user

    async def set_disabled(self, by: str, name: str, disabled: bool) -> ConsoleUser:
        """Disables (or enables) ``name``; ``by`` may not disable itself, and
        the last enabled admin stays, so someone can still let others in."""
        user = await self._existing(name)
        if disabled and name == by:
            raise UserRefused("name", "You cannot disable yourself.")
        if disabled and user.role == "admin" and not user.disabled:
            admins = [u for u in await self.store.users() if u.role == "admin" and not u.disabled]
            if len(admins) <= 1:
                raise UserRefused("name", "The last enabled admin cannot be disabled.")
        changed = msgspec.structs.replace(user, disabled=disabled)
        await self.store.put(changed)
        await self._record("console_user.disable" if disabled else "console_user.enable", name)
        return changed

    async def reset_password(self, name: str, password: str | None = None) -> str:
        """Sets ``password``, or a generated one; returns it (to show once)."""
        user = await self._existing(name)
        new = password if password is not None else secrets.token_urlsafe(12)
        _check_password(new)
        digest = await asyncio.to_thread(self._hasher.hash, new)
        changed = msgspec.structs.replace(user, password_hash=digest, sessions_after=self._clock())
        await self.store.put(changed)
        await self._record("console_user.password", name, generated=password is None)
        return new

    async def start_totp(self, name: str) -> str:
        """A new secret for ``name`` to enrol; not asked for until confirmed."""
        user = await self._existing(name)
        secret = totp.new_secret()
        await self.store.put(msgspec.structs.replace(user, totp_pending=secret))
        return secret

    async def confirm_totp(self, name: str, code: str) -> bool:
        """Switches TOTP on when ``code`` comes from the pending secret."""
        user = await self._existing(name)
        if user.totp_pending is None:
            return False
        step = totp.matching_step(user.totp_pending, code, self._clock())
        if step is None or not await self.store.claim_code(name, step, totp.CODE_MEMORY_SECONDS):
            return False
        on = msgspec.structs.replace(user, totp_secret=user.totp_pending, totp_pending=None)
        await self.store.put(on)
        await self._record("console_user.totp_on", name)
        return True

    async def current_code_ok(self, name: str, code: str, source: str) -> bool:
        """Whether ``code`` comes from ``name``'s authenticator now: asked
        before it is replaced, so a session left open cannot swap it. Single
        use, and counted like a login's code step."""

        async def check() -> bool:
            user = await self.store.get(name)
            if user is None or user.totp_secret is None:
                return False
            step = totp.matching_step(user.totp_secret, code, self._clock())
            return step is not None and await self.store.claim_code(
                name, step, totp.CODE_MEMORY_SECONDS
            )

        attempt = await self._logins.attempt("console", source, f"totp:{name}", check)
        return attempt.verdict is LoginVerdict.ACCEPTED

    async def clear_totp(self, name: str) -> None:
        """TOTP off (a lost phone): the next login asks for the password only."""
        user = await self._existing(name)
        off = msgspec.structs.replace(
            user, totp_secret=None, totp_pending=None, sessions_after=self._clock()
        )
        await self.store.put(off)
        await self._record("console_user.totp_off", name)

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

    async def await_code(self, user: ConsoleUser) -> str:
        """After the right password of a user with TOTP on: the id of a
        short-lived session that only lets `second_step` be tried."""
        session_id = secrets.token_urlsafe(32)
        pending = Session(
            user=user.name,
            csrf=secrets.token_urlsafe(32),
            expires_at=self._clock() + CODE_WAIT_SECONDS,
            awaiting_code=True,
        )
        await self.store.put_session(session_id, pending)
        return session_id

    async def second_step(self, pending_id: str, code: str, source: str) -> LoginOutcome:
        """The user once ``code`` is a current TOTP code of theirs, not used
        before; failures count in the same throttle and lockout as passwords."""
        pending = await self.store.get_session(pending_id)
        if pending is None or not pending.awaiting_code or pending.expires_at <= self._clock():
            return LoginOutcome(LoginAttempt(LoginVerdict.REFUSED), None)
        found: ConsoleUser | None = None

        async def check() -> bool:
            nonlocal found
            user = await self.store.get(pending.user)
            if user is None or user.disabled or user.totp_secret is None:
                return False
            step = totp.matching_step(user.totp_secret, code, self._clock())
            if step is None:
                return False
            if not await self.store.claim_code(user.name, step, totp.CODE_MEMORY_SECONDS):
                return False
            found = user
            return True

        # Counted apart from the password: the right password clears the
        # user's failures and trusts its address, which must not reset the
        # count of wrong codes (one password, many addresses, many guesses).
        attempt = await self._logins.attempt("console", source, f"totp:{pending.user}", check)
        if attempt.verdict is not LoginVerdict.ACCEPTED:
            return LoginOutcome(attempt, None)
        await self.store.drop_session(pending_id)
        return LoginOutcome(attempt, found)

    async def open_session(self, user: ConsoleUser) -> tuple[str, Session]:
        """A new session id (never reused from before the login) and its CSRF token."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(
            user=user.name,
            csrf=secrets.token_urlsafe(32),
            expires_at=now + SESSION_SECONDS,
            opened_at=now,
        )
        await self.store.put_session(session_id, session)
        return session_id, session

    async def session(self, session_id: str) -> tuple[Session, ConsoleUser] | None:
        """The session and its user, unless expired, the user is gone or
        disabled, or its password or TOTP changed since the session opened."""
        session = await self.store.get_session(session_id)
        if session is None or session.expires_at <= self._clock() or session.awaiting_code:
            return None
        user = await self.store.get(session.user)
        if user is None or user.disabled or session.opened_at < user.sessions_after:
            return None
        return session, user

    async def close_session(self, session_id: str) -> None:
        await self.store.drop_session(session_id)

    async def _existing(self, name: str) -> ConsoleUser:
        user = await self.store.get(name)
        if user is None:
            raise UserRefused("name", "No such user.")
        return user

    async def _record(self, action: str, name: str, **detail: object) -> None:
        if self.audit is not None:
            await self.audit.record(action, f"console_user:{name}", **detail)

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self._hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserRefused("password", f"At least {MIN_PASSWORD} characters.")
    if len(password) > 1024:
        raise UserRefused("password", "At most 1024 characters.")


class Console:
    """What the console's routes need, attached to the engine as ``engine.console``."""

    def __init__(self, users: ConsoleUsers, secret: bytes, secure_cookies: bool) -> None:
        if len(secret) < 32:
            raise ValueError("the console's cookie secret needs at least 32 bytes")
        self.users = users
        self.secret = secret
        self.secure_cookies = secure_cookies
        """False only for plain HTTP on loopback (``smsgw dev``)."""
