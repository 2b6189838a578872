"""Verify: make a one-time code, send it as an OTP message, check it.

The SMS goes through `engine.facade.Engine.send` like any ``POST /v1/messages``
in the OTP class: same routing, price, hold, receipts and webhooks, billed as
a message (a verification costs nothing more). Its reference is the
verification's id, so the account's webhooks and message list name it. The
code lives no longer than its SMS may wait (the message's validity is the
code's expiry), so no SMS arrives with a dead code.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import structlog

from engine.customers.accounts import AccountConfig
from engine.facade import Engine
from engine.messages.message import Callback, Priority
from engine.sending import SendItem
from engine.verify.codes import CodeHasher, new_code, new_salt
from engine.verify.model import (
    Checked,
    InvalidVerification,
    Limited,
    NewVerification,
    Refused,
    Snapshot,
    Status,
    Verdict,
    Verification,
)
from engine.verify.observer import NoObserver, VerifyObserver
from engine.verify.send_limits import SendLimiter
from engine.verify.settings import CODE_PLACE, EXPIRY, VerifySettings
from engine.verify.stats import MemoryVerifyCounts, Outcome, VerifyCounts, VerifyDay
from engine.verify.store import VerificationStore

log = structlog.get_logger("smsgw.verify")

ID_LENGTH = 32
"""Hex digits of a verification id (128 random bits)."""


class VerifyService:
    def __init__(
        self,
        engine: Engine,
        store: VerificationStore,
        limiter: SendLimiter,
        settings: VerifySettings,
        hasher: CodeHasher,
        observer: VerifyObserver | None = None,
        clock: Callable[[], float] = time.time,
        counts: VerifyCounts | None = None,
    ) -> None:
        """``clock``: Unix time; every shard's must agree (NTP), as the
        expiry a shard wrote is read by the others. ``counts``: the daily
        statistics (`engine.verify.stats`), this process's alone when None."""
        self._engine = engine
        self._store = store
        self._limiter = limiter
        self._settings = settings
        self._hasher = hasher
        self._observer: VerifyObserver = observer or NoObserver()
        self._clock = clock
        self._counts: VerifyCounts = counts or MemoryVerifyCounts()

    async def start(
        self, account: AccountConfig, request: NewVerification
    ) -> Snapshot | Refused | Limited:
        """Make a code and send it; `InvalidVerification` names a bad field.
        Nothing is stored when the send is refused or rate limited."""
        length, expiry, template = self._checked(request)
        now = self._clock()
        now_ms = round(now * 1000)
        verification_id = secrets.token_hex(ID_LENGTH // 2)
        limited = await self._limiter.reserve(account.id, request.to, verification_id, now_ms)
        if limited is not None:
            return limited
        code = new_code(length)
        text = template.replace(CODE_PLACE, code)
        item = self._item(account, request, verification_id, text, expiry)
        [result], _ = await self._engine.send(account, [item])
        if not result.accepted:
            await self._limiter.release(account.id, request.to, verification_id)
            return Refused(result.refusal, result.detail)
        salt = new_salt()
        verification = Verification(
            id=verification_id,
            account=account.id,
            to=request.to,
            channel=request.channel,
            code_length=length,
            salt=salt,
            digest=self._hasher.digest(salt, verification_id, code),
            created_ms=now_ms,
            expires_ms=now_ms + expiry * 1000,
            max_attempts=self._settings.max_attempts,
            message_id=result.message_id,
        )
        await self._store.put(
            verification, round((expiry + self._settings.keep_after_expiry) * 1000)
        )
        self._tell(self._observer.sent, account.id, request.to, now)
        await self._count(account.id, now_ms, "created")
        return verification.snapshot(now_ms)

    async def check(self, account: str, verification_id: str, code: str) -> Checked | None:
        """Compare ``code`` (in constant time), then let the store count the
        check atomically; None: no such verification of ``account``."""
        now = self._clock()
        now_ms = round(now * 1000)
        verification = await self._find(account, verification_id, now_ms)
        if verification is None:
            return None
        matched = self._hasher.matches(
            verification.salt, verification.id, code, verification.digest
        )
        checked = await self._store.check(verification, matched, now_ms)
        if checked is None:
            return None
        verdict, after = checked
        if verdict is Verdict.APPROVED:
            self._tell(self._observer.approved, account, after.to, now)
            await self._count(account, after.created_ms, "approved")
        elif verdict is Verdict.MAX_ATTEMPTS_REACHED and verification.state is Status.PENDING:
            await self._count(account, after.created_ms, "failed")
        return Checked(verdict, after.snapshot(now_ms))

    async def get(self, account: str, verification_id: str) -> Snapshot | None:
        now_ms = round(self._clock() * 1000)
        verification = await self._find(account, verification_id, now_ms)
        return verification.snapshot(now_ms) if verification is not None else None

    async def stats(self, account: str, days: int) -> list[VerifyDay]:
        """ValueError for ``days`` outside 1..`engine.verify.stats.KEEP_DAYS`."""
        return await self._counts.days(account, round(self._clock() * 1000), days)

    async def _find(self, account: str, verification_id: str, now_ms: int) -> Verification | None:
        """Another account's verification is not found, as an unknown one."""
        if len(verification_id) != ID_LENGTH:
            return None
        verification = await self._store.get(verification_id, now_ms)
        return (
            verification if verification is not None and verification.account == account else None
        )

    def _checked(self, request: NewVerification) -> tuple[int, int, str]:
        """The code's length, expiry and template, the defaults filled in."""
        settings = self._settings
        length = request.code_length or settings.code_length_default
        if not settings.code_length_min <= length <= settings.code_length_max:
            raise InvalidVerification(
                "code_length",
                f"code_length must be in {settings.code_length_min}..{settings.code_length_max}",
            )
        expiry = request.expiry or settings.expiry_default
        if not EXPIRY[0] <= expiry <= EXPIRY[1]:
            raise InvalidVerification("expiry", f"expiry must be in {EXPIRY[0]}..{EXPIRY[1]} s")
        template = request.template or settings.template
        if CODE_PLACE not in template:
            raise InvalidVerification("template", f"template must hold {CODE_PLACE}")
        return length, expiry, template

    def _item(
        self,
        account: AccountConfig,
        request: NewVerification,
        verification_id: str,
        text: str,
        expiry: int,
    ) -> SendItem:
        webhook = account.webhook_url
        return SendItem(
            to=request.to,
            sender=request.sender or self._settings.sender,
            text=text,
            priority=Priority.OTP,
            validity=float(expiry),
            reference=verification_id,
            callback=Callback(url=webhook, form="json", level=2) if webhook else Callback(url=""),
        )

    async def _count(self, account: str, created_ms: int, outcome: Outcome) -> None:
        """A statistic: its store's failure is logged, never the caller's."""
        try:
            await self._counts.count(account, created_ms, outcome)
        except Exception:
            log.warning("verify statistics not counted", outcome=outcome, exc_info=True)

    @staticmethod
    def _tell(event: Callable[[str, str, float], None], account: str, to: str, now: float) -> None:
        """An observer's failure is logged, never the caller's."""
        try:
            event(account, to, now)
        except Exception:
            log.warning("verify observer failed", call=event.__name__, exc_info=True)
