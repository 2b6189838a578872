"""Bind passwords are stored as scrypt hashes, never in clear (stdlib only).

Format: ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>``. SMPP passwords are
at most 8 characters (§4.1.1), so a slow hash is what protects them at rest;
binds are rare enough to pay for it.

The slowness is also a lever for anyone who can send wrong passwords, so
`PasswordChecker` runs only a few checks at once and answers a failed
(account, password) pair it saw recently from memory.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import time
from collections import Counter
from collections.abc import Callable

from engine.loop.single_flight import SingleFlight

_LOG2_N, _R, _P = 14, 8, 1
_NOBODY = "$".join(("scrypt", str(_LOG2_N), str(_R), str(_P), "A" * 24, "A" * 44))
"""Checked for an unknown account: it matches nothing and costs what a real
check costs, so the answer's timing does not tell which accounts exist."""
_REMEMBERED = 10_000


def hash_password(password: str, *, log2_n: int = _LOG2_N) -> str:
    salt = os.urandom(16)
    digest = _scrypt(password, salt, log2_n, _R, _P)
    return "$".join(("scrypt", str(log2_n), str(_R), str(_P), _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check; a malformed stored hash never matches."""
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(log2_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=1 << log2_n, r=r, p=p, maxmem=64 << 20, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class PasswordChecker:
    """scrypt checks off the event loop, at most ``at_once`` together, with
    recent failures remembered for ``remember_failures`` seconds."""

    def __init__(
        self, at_once: int, remember_failures: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._slots = asyncio.Semaphore(at_once)
        self._remember = remember_failures
        self._clock = clock
        self._failed: dict[bytes, float] = {}
        self.counts: Counter[str] = Counter()
        """checked (scrypt ran) and remembered (a failure answered from memory)."""

    async def verify(self, name: str, password: str, stored: str | None) -> bool:
        """Whether ``password`` is ``name``'s; ``stored`` None (no such
        account) costs a check like any other and never matches."""
        attempt = hashlib.sha256(f"{name}\0{stored}\0{password}".encode()).digest()
        if self._known_failure(attempt):
            return False
        async with self._slots:
            if self._known_failure(attempt):  # a twin that waited for a slot
                return False
            self.counts["checked"] += 1
            matched = await asyncio.to_thread(verify_password, password, stored or _NOBODY)
        if not matched:
            if len(self._failed) >= _REMEMBERED:
                self._failed.clear()
            self._failed[attempt] = self._clock() + self._remember
        return matched and stored is not None

    def _known_failure(self, attempt: bytes) -> bool:
        if self._failed.get(attempt, 0.0) > self._clock():
            self.counts["remembered"] += 1
            return True
        return False


class TrustedPasswords:
    """Passwords checked on every request (Jasmin's HTTP API): a success is
    remembered as a digest for ``ttl`` seconds, renewed on every use, so a
    steady client never pays scrypt again; concurrent checks of one
    (account, password) share one scrypt run instead of queueing behind it."""

    def __init__(
        self,
        checker: PasswordChecker,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._checker = checker
        self._ttl = ttl
        self._clock = clock
        self._trusted: dict[bytes, float] = {}
        self._checking: SingleFlight[bytes, bool] = SingleFlight()

    async def verify(self, name: str, password: str, stored: str) -> bool:
        proof = hashlib.sha256(f"{name}\0{stored}\0{password}".encode()).digest()
        now = self._clock()
        if self._trusted.get(proof, 0.0) > now:
            self._trusted[proof] = now + self._ttl
            return True
        checking = self._checking.start(proof, lambda: self._checker.verify(name, password, stored))
        matched = await asyncio.shield(checking)
        if matched:
            if len(self._trusted) >= _REMEMBERED:
                self._trusted.clear()
            self._trusted[proof] = self._clock() + self._ttl
        return matched
