"""The one door from the HTTP front (api/) into a running shard.

The API never reaches into the pipeline, ledger or stores itself: it calls
this facade with validated values and gets plain results back. An HTTP
message becomes a submit_sm-shaped request and goes through the same
routing, pricing and commit point as an SMPP one, so both fronts bill alike.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

import msgspec

from engine.admin.administration import Administration
from engine.billing.facade import Billing
from engine.console import Console
from engine.customers.accounts import AccountConfig
from engine.customers.api_keys import (
    ApiKey,
    ApiKeyStore,
    TrustedKeys,
    key_digest,
    new_api_key,
)
from engine.customers.idempotency import IdempotencyStore, MemoryIdempotencyStore
from engine.customers.logins import Logins
from engine.customers.passwords import TrustedPasswords
from engine.fraud.guard import FraudGuard
from engine.gateway import Gateway
from engine.messages.intake import Refused, SubmitOptions, prepare_mt
from engine.messages.lifecycle import STATE_OF_SMPP
from engine.messages.message import Callback, MtMessage
from engine.messages.pipeline import Pipeline
from engine.messages.waiters import Reached
from engine.operators.bind import BindState
from engine.optout.service import OptOut
from engine.platform import Platform
from engine.sending import Balance, Quote, SendItem, SendResult, WaitResult
from engine.verify.model import Verifier
from engine.webhooks import DeliveryAttempt, WebhookProbe, send_test_event
from ledger.message_query import (
    MessageFilter,
    MessagePage,
    MessageQuery,
    MessageRecord,
    MessageSearch,
)
from ledger.model import AccountState
from ledger.redis_client import RedisClient
from ledger.usage import Usage
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.constants import EsmClass
from smpp.handset import handset_view
from smpp.receipt import MessageState
from smpp.split import cheapest_coding
from smpp.text import NotTextError, UnencodableError, encode_text
from smpp.tlv import Tag

_SHORT_MESSAGE_MAX = 254
_AUTH_CACHE_SECONDS = 10.0
"""How long a checked API key or password is trusted without a new check:
a revocation on another shard takes effect within this time."""
_BINARY_CODING = 4
ANSWER_MARGIN = 0.05
"""Seconds before an OTP wait's deadline at which the caller gets its answer
(and after which the message is never submitted): the answer must be on the
wire before the caller's own timeout fires."""

ReadyCheck = Callable[[], Awaitable[object]]
"""Raises when a backend (Redis, PostgreSQL) cannot be reached; else returns
None or a dict of what is worth showing beside "ok" (the persister's lag)."""

_REFUSED_CODES = {
    S.ESME_RINVDSTADR: "no_route",
    S.ESME_RINVMSGLEN: "message_too_long",
    S.ESME_RINVSCHED: "invalid_send_at",
    S.ESME_RINVEXPIRY: "invalid_validity",
    S.ESME_RINVOPTPARAMVAL: "invalid_message",
}


"""A recent state as the history names it; ENROUTE is what acceptance records."""


class Protection:
    """What guards the accept path and the admin and customer APIs manage;
    None where the composition root did not install it."""

    def __init__(self) -> None:
        self.optout: OptOut | None = None
        self.fraud: FraudGuard | None = None


class Engine:
    """What the HTTP front may ask of one shard."""

    def __init__(
        self,
        gateway: Gateway,
        api_keys: ApiKeyStore,
        messages: MessageQuery | None = None,
        idempotency: IdempotencyStore | None = None,
        ready_checks: Sequence[ReadyCheck] = (),
        redis: RedisClient | None = None,
        billing: Billing | None = None,
    ) -> None:
        """``redis``: where admin changes are published to the other shards;
        ``billing``: rates, payments, invoices and CDRs (none of the last three
        without a database)."""
        self.gateway = gateway
        self.api_keys = api_keys
        self.history = messages if messages is not None else gateway.history
        """The message history (PostgreSQL, or the embedded store); None: none kept."""
        self.idempotency = idempotency or MemoryIdempotencyStore()
        """Idempotency-Key answers; shared by every shard in production (Redis)."""
        self.ready_checks = tuple(ready_checks)
        self.admin = Administration(gateway, api_keys, redis)
        self.billing = billing or Billing(gateway, gateway.rates, None)
        self.admin.record_payment = self.billing.record_top_up
        self.verify: Verifier | None = None
        """One-time codes (docs/verify.md); None: not set up on this shard."""
        self.protection = Protection()
        self.platform = Platform()
        """Sender IDs, templates, resellers (engine.platform)."""
        self.console: Console | None = None
        """The web console's users and cookie secret (api.console); None: not served."""
        self._trusted_keys = TrustedKeys(api_keys, _AUTH_CACHE_SECONDS)
        self._trusted_passwords = TrustedPasswords(self.logins.passwords, _AUTH_CACHE_SECONDS)

    @property
    def pipeline(self) -> Pipeline:
        return self.gateway.pipeline

    def is_admin_key(self, key: str) -> bool:
        """The admin key's SHA-256 is in the config ([api] admin_key_hash) or
        the key itself in SMSGW_ADMIN_KEY; with neither, nothing is admin."""
        expected = self.gateway.config.api.admin_key_hash or (
            key_digest(os.environ["SMSGW_ADMIN_KEY"]) if os.environ.get("SMSGW_ADMIN_KEY") else ""
        )
        return bool(expected) and hmac.compare_digest(key_digest(key), expected)

    def account(self, account_id: str) -> AccountConfig | None:
        return self.gateway.accounts.get(account_id)

    @property
    def logins(self) -> Logins:
        """Throttles every key and password check (api.auth wraps its checks in it)."""
        return self.gateway.logins

    async def check_webhook(self, url: str) -> str:
        """The URL, if a webhook may be sent to it: its shape, and the
        addresses its host resolves to now (the send-time check, run early);
        else ValueError saying why."""
        return await self.gateway.webhooks.guard.check_url(url)

    # -- authentication ------------------------------------------------------

    def trusted_key_account(self, key: str) -> AccountConfig | None:
        """The account of an API key checked lately, without a store read
        (`TrustedKeys`); None: the key must be checked (`account_for_key`)."""
        account = self._trusted_keys.trusted(key)
        return None if account is None else self.account(account)

    async def account_for_key(self, key: str) -> AccountConfig | None:
        """The account an API key belongs to; None for a bad, unknown or revoked key."""
        account = await self._trusted_keys.account_of(key)
        return None if account is None else self.account(account)

    async def account_for_password(self, username: str, password: str) -> AccountConfig | None:
        """Jasmin-style username/password on every request: the scrypt check is
        slow on purpose, so a success is remembered while the client keeps
        using it (`TrustedPasswords`)."""
        account = self.account(username)
        if account is None:  # as slow as a wrong password: no account enumeration
            await self.logins.passwords.verify(username, password, None)
            return None
        if not await self._trusted_passwords.verify(username, password, account.password_hash):
            return None
        return account

    async def issue_api_key(self, account: str, label: str = "") -> tuple[ApiKey, str]:
        record, key = new_api_key(account, label)
        await self.api_keys.put(record)
        await self.admin.audit.record("api_key.issue", account, key_id=record.key_id, label=label)
        return record, key

    async def revoke_api_key(self, account: str, key_id: str) -> bool:
        record = await self.api_keys.get(key_id)
        if record is None or record.account != account or record.revoked_at:
            return False
        await self.api_keys.put(msgspec.structs.replace(record, revoked_at=int(time.time())))
        self._trusted_keys.forget_account(account)
        await self.admin.audit.record("api_key.revoke", account, key_id=key_id)
        return True

    # -- sending ---------------------------------------------------------------

    async def send(
        self, account: AccountConfig, items: Sequence[SendItem], *, wait_final: bool | None = None
    ) -> tuple[list[SendResult], list[asyncio.Future[Reached] | None]]:
        """Route, price and commit every item (one ledger batch); with
        ``wait_final`` set, also a future per accepted message for the OTP wait
        (registered before the commit, so no milestone is missed)."""
        loop = asyncio.get_running_loop()
        results: list[SendResult | None] = [None] * len(items)
        answers: list[asyncio.Future[tuple[int, str, str]] | None] = [None] * len(items)
        waiters: list[asyncio.Future[Reached] | None] = [None] * len(items)
        messages: list[MtMessage | None] = [None] * len(items)
        for i, item in enumerate(items):
            prepared = self._prepare(account, item)
            if isinstance(prepared, SendResult):
                results[i] = prepared
                continue
            messages[i] = prepared
            if wait_final is not None:
                waiters[i] = self.pipeline.waiters.wait(prepared.id, final=wait_final)
            answer: asyncio.Future[tuple[int, str, str]] = loop.create_future()
            answers[i] = answer
            self.pipeline.commit(prepared, _resolver(answer))
        for i, answer in enumerate(answers):
            if answer is None:
                continue
            status, message_id, reason = await answer
            message = messages[i]
            assert message is not None
            if status == S.ESME_ROK:
                results[i] = SendResult(
                    to=message.destination_addr,
                    message_id=message_id,
                    parts=message.parts,
                    price_per_part=message.price_per_part,
                )
            else:
                waiter = waiters[i]
                if waiter is not None:
                    self.pipeline.waiters.forget(message.id, waiter)
                    waiters[i] = None
                results[i] = SendResult(to=items[i].to, refusal=reason or "refused")
        return [r for r in results if r is not None], waiters

    def _prepare(self, account: AccountConfig, item: SendItem) -> MtMessage | SendResult:
        request = submit_request(account, item)
        if isinstance(request, SendResult):
            return request
        prepared = self.pipeline.prepare(account, request, self._options(item))
        if isinstance(prepared, Refused):
            code = prepared.code or _REFUSED_CODES.get(prepared.status, "rejected")
            return SendResult(to=item.to, refusal=code, detail=prepared.reason)
        return prepared

    def _options(self, item: SendItem) -> SubmitOptions:
        now = time.time()
        validity = self.gateway.config.limits.validity
        expires_at = None
        if item.validity is not None:
            expires_at = max(item.send_at, now) + min(item.validity, validity.maximum)
        if item.deadline is not None:
            last = item.deadline - ANSWER_MARGIN
            expires_at = last if expires_at is None else min(expires_at, last)
        return SubmitOptions(
            priority=item.priority,
            reference=item.reference,
            callback=item.callback or Callback(url=""),
            not_before=item.send_at,
            expires_at=expires_at,
        )

    async def wait(
        self, account: str, message_id: str, waiter: asyncio.Future[Reached], deadline: float
    ) -> WaitResult:
        """The OTP wait: the milestone, or just before the deadline the message
        taken out of its queue (hold released) so it is never sent late."""
        try:
            remaining = deadline - ANSWER_MARGIN - time.time()
            reached = await asyncio.wait_for(asyncio.shield(waiter), remaining)
        except TimeoutError:
            self.pipeline.waiters.forget(message_id, waiter)
            released = self.pipeline.cancel(account, message_id)
            known = self.pipeline.states.get(message_id, account)
            state = known.state.name if known is not None else MessageState.ENROUTE.name
            return WaitResult(reached=False, state=state, released=released, timed_out=True)
        wanted = not reached.final or reached.state is MessageState.DELIVERED
        return WaitResult(reached=wanted, state=reached.state.name, error=reached.error)

    def quote(self, account: AccountConfig, item: SendItem, *, handset: bool = False) -> Quote:
        """Parts and price of a message without sending it (Jasmin's /rate);
        with ``handset``, also how a handset will show a text (the portal's
        preview)."""
        request = submit_request(account, item)
        if isinstance(request, SendResult):
            return Quote(refusal=request.refusal, detail=request.detail)
        now = time.time()
        prepared = prepare_mt(
            request,
            account,
            self.pipeline.table,
            self.pipeline.pricer,
            "quote",
            now,
            self.gateway.config.limits.validity,
            self.pipeline.usable,
        )
        if isinstance(prepared, Refused):
            code = prepared.code or _REFUSED_CODES.get(prepared.status, "rejected")
            return Quote(refusal=code, detail=prepared.reason)
        return Quote(
            parts=prepared.parts,
            price_per_part=prepared.price_per_part,
            currency=self.billing.currency_of(account.id),
            handset=None
            if item.text is None or not handset
            else handset_view(item.text, request.data_coding),
        )

    # -- reading -------------------------------------------------------------

    async def balance(self, account: str) -> Balance | None:
        state: AccountState | None = await self.gateway.ledger.get_account(account)
        if state is None:
            return None
        return Balance(
            balance=state.balance,
            held=state.held,
            available=state.available,
            credit_limit=state.limits.credit_limit,
            currency=self.billing.currency_of(account),
        )

    async def message(self, account: str, message_id: str) -> MessageRecord | None:
        """The message with its history. One accepted a moment ago may not be in
        the history yet (the persister is asynchronous): this shard's own
        recent state answers for it then."""
        found = await self.history.get(account, message_id) if self.history else None
        if found is not None:
            return found
        known = self.pipeline.states.get(message_id, account)
        if known is None:
            return None
        now = int(time.time() * 1000)
        return MessageRecord(
            message_id=message_id,
            account=account,
            state=STATE_OF_SMPP[known.state],
            parts=0,
            price_per_part=0,
            held=None,
            charged=None,
            connector=None,
            operator_message_id=None,
            error_code=known.error_code or None,
            destination=None,
            source=None,
            reference=None,
            accepted_at=None,
            updated_at=int(known.final_at * 1000) or now,
        )

    async def messages(
        self, account: str, filter: MessageFilter, cursor: str | None, limit: int
    ) -> MessagePage | None:
        """A page of the account's messages, newest first; None without a history."""
        if self.history is None:
            return None
        return await self.history.list(account, filter, cursor, limit)

    async def search_messages(
        self, search: MessageSearch, cursor: str | None, limit: int
    ) -> MessagePage | None:
        """The staff's search across accounts, newest first; None without a history."""
        return None if self.history is None else await self.history.search(search, cursor, limit)

    async def find_message(self, message_id: str) -> MessageRecord | None:
        """Any account's message with its history (staff only); None when the
        history does not know it (yet: the persister is asynchronous)."""
        return None if self.history is None else await self.history.find(message_id)

    async def usage(self, account: str, first: date, last: date) -> Usage | None:
        """The account's messages per day, state and operator (whole UTC days);
        None where no usage query is installed (`Platform.usage`)."""
        query = self.platform.usage
        return None if query is None else await query.usage(account, first, last)

    async def webhook_deliveries(
        self, account: str, limit: int, message_id: str | None = None
    ) -> list[DeliveryAttempt]:
        return await self.gateway.webhook_log.recent(account, limit, message_id)

    async def send_test_webhook(self, account: AccountConfig) -> WebhookProbe:
        """One signed test event to the account's webhook URL now, and the
        receiver's answer (`engine.webhooks.probe`); ValueError without a URL."""
        return await send_test_event(self.gateway.webhooks, account)

    def live_connectors(self) -> list[str]:
        return [
            name
            for name, connector in self.gateway.connectors.items()
            if BindState.BOUND in connector.state().binds
        ]

    async def ready(self) -> dict[str, dict[str, object]]:
        """Each backend check and the connectors' live binds, each with ``ok``
        (and ``error`` when not): the shard is ready when all are ok. With
        connectors configured, at least one needs a live bind."""
        names = [getattr(check, "__name__", "backend") for check in self.ready_checks]
        answers = await asyncio.gather(
            *(asyncio.wait_for(check(), 2.0) for check in self.ready_checks),
            return_exceptions=True,
        )
        checks: dict[str, dict[str, object]] = {}
        for name, answer in zip(names, answers, strict=True):
            if isinstance(answer, Exception):
                checks[name] = {"ok": False, "error": str(answer) or type(answer).__name__}
            else:
                checks[name] = {"ok": True, **(answer if isinstance(answer, dict) else {})}
        bound = {
            name: sum(state is BindState.BOUND for state in connector.state().binds)
            for name, connector in self.gateway.connectors.items()
        }
        connectors: dict[str, object] = {"ok": not bound or any(bound.values()), "bound": bound}
        if not connectors["ok"]:
            connectors["error"] = "no connector has a live bind"
        checks["connectors"] = connectors
        return checks


def submit_request(account: AccountConfig, item: SendItem) -> p.SubmitSm | SendResult:
    """The submit_sm an HTTP message would have been: the text encoded in its
    cheapest coding (or the one asked for), long content as message_payload."""
    if item.text is not None:
        coding = item.data_coding
        if coding is None:
            coding = cheapest_coding(item.text, latin1_allowed=account.latin1_allowed)
        try:
            user_data = encode_text(item.text, coding)
        except UnencodableError as exc:
            return SendResult(to=item.to, refusal="unencodable", detail=str(exc))
        except NotTextError:
            return SendResult(to=item.to, refusal="unencodable", detail="not a text coding")
    else:
        coding = _BINARY_CODING if item.data_coding is None else item.data_coding
        user_data = item.data or b""
    long = len(user_data) > _SHORT_MESSAGE_MAX
    return p.SubmitSm(
        source_addr_ton=5 if not item.sender.isdigit() else 1,
        source_addr_npi=0 if not item.sender.isdigit() else 1,
        source_addr=item.sender,
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=item.to,
        esm_class=int(EsmClass.UDHI) if item.udh else 0,
        registered_delivery=1,
        data_coding=coding,
        short_message=b"" if long else user_data,
        tlvs={Tag.MESSAGE_PAYLOAD: user_data} if long else {},
    )


def _resolver(answer: asyncio.Future[tuple[int, str, str]]) -> Callable[[int, str, str], None]:
    def reply(status: int, message_id: str, reason: str) -> None:
        if not answer.done():
            answer.set_result((status, message_id, reason))

    return reply
