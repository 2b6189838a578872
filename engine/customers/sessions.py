"""Our SMSC side: customers bind to us and submit.

The adapter is thin: binds are authenticated through the shard's `Logins`
(throttled per source and account, scrypt in a thread), submits go straight
to the pipeline with a reply callback, and the state rules of `smpp.session`
already refused anything sent in the wrong state. Operations we do not
serve are answered, never dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime

import structlog

from engine.customers.accounts import AccountConfig, BindRegistry
from engine.customers.allowed_ips import ip_allowed
from engine.customers.login_guard import SecurityConfig
from engine.customers.logins import Logins, LoginVerdict
from engine.loop.batching import BackgroundTasks
from engine.loop.repeated import RepeatedWarning
from engine.loop.throttle import TokenBucket
from engine.messages.intake import SubmitOptions
from engine.messages.lifecycle import SMPP_STATE
from engine.messages.pipeline import Pipeline
from engine.messages.refusals import Reply
from engine.messages.replacing import Answer, replace_waiting
from ledger.message_query import MessageQuery
from smpp import pdu as p
from smpp.aio import SmppConnection
from smpp.constants import CommandId as C
from smpp.constants import CommandStatus as S
from smpp.receipt import is_final
from smpp.smpptime import format_absolute

log = structlog.get_logger("smsgw.server")

_RECEIVING = (C.BIND_RECEIVER, C.BIND_TRANSCEIVER)
_SUBMITS = (p.SubmitSm, p.DataSm, p.SubmitMulti)
"""Requests that become messages: the throughput limit and admission count them."""

_Bound = tuple[AccountConfig, TokenBucket | None, SubmitOptions]
"""A bound connection's account, its throughput bucket, and the options every
message it submits carries (its bind serial, for the receipts)."""


class CustomerSessions:
    """The `SessionHandler` of every customer connection on this shard."""

    def __init__(
        self,
        accounts: dict[str, AccountConfig],
        binds: BindRegistry,
        pipeline: Pipeline,
        system_id: str = "smsgw",
        history: MessageQuery | None = None,
        logins: Logins | None = None,
    ) -> None:
        """``logins``: the shard's login throttle, shared with the HTTP front."""
        self.accounts = accounts
        self.binds = binds
        self.pipeline = pipeline
        self.history = history
        """Answers query_sm for messages this shard does not remember."""
        self._tasks = BackgroundTasks()
        self._history_down = RepeatedWarning(log, "query_sm: history unavailable", by="accounts")
        self.system_id = system_id
        self._bound: dict[SmppConnection, _Bound] = {}
        self.logins = logins or Logins(SecurityConfig())
        self._binding: set[SmppConnection] = set()
        """Connections whose bind is being checked."""
        self._paused: dict[SmppConnection, deque[p.Pdu]] = {}
        """Connections not read for a while after a shed submit (`Admission`),
        with the submits they sent after it, held in order."""

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        bound = self._bound.get(connection)
        if bound is None:
            if request.command_id in (C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER):
                asyncio.get_running_loop().create_task(self._bind(connection, request))
            else:
                connection.respond(p.response_to(request, S.ESME_RINVBNDSTS))
            return
        account, bucket, options = bound
        if isinstance(request, _SUBMITS):
            held = self._paused.get(connection)
            if held is not None:  # read in the same chunk as a shed one: in order, later
                held.append(request)
                return
            if not (bucket is None or bucket.try_take(1)):
                connection.respond(p.response_to(request, S.ESME_RTHROTTLED))
                return
            if not self.pipeline.admission.admits(account.id):
                self._shed(connection, account, request)
                return
        if isinstance(request, p.SubmitSm):
            reply = _replier(connection, request, p.SubmitSmResp)
            self.pipeline.submit(account, request, reply, options)
        elif isinstance(request, p.DataSm):
            reply = _replier(connection, request, p.DataSmResp)
            self.pipeline.submit(account, as_submit_sm(request), reply, options)
        elif isinstance(request, p.SubmitMulti):
            self._submit_multi(connection, account, request, options)
        elif isinstance(request, p.QuerySm):
            answer = self._query(account, request)
            if answer is None and self.history is not None:
                self._tasks.spawn(self._query_history(connection, account, request))
            else:
                connection.respond(answer or p.response_to(request, S.ESME_RQUERYFAIL))
        elif isinstance(request, p.CancelSm):
            cancelled = bool(request.message_id) and self.pipeline.cancel(
                account.id, request.message_id, request.source_addr
            )
            connection.respond(p.response_to(request, 0 if cancelled else S.ESME_RCANCELFAIL))
        elif isinstance(request, p.ReplaceSm):
            replace_waiting(self.pipeline, account, request, _answerer(connection, request))
        else:
            connection.respond(p.response_to(request, S.ESME_RINVCMDID))

    def _shed(
        self,
        connection: SmppConnection,
        account: AccountConfig,
        request: p.Pdu,
        held: deque[p.Pdu] | None = None,
    ) -> None:
        """ESME_RTHROTTLED before any work, and the session paused for the
        admission's pause: not read, and the submits already read after this
        one (``held``) kept in order. A client that resends at once costs
        nothing meanwhile, and gets one refusal per pause, not one per PDU."""
        admission = self.pipeline.admission
        admission.shed(account.id)
        connection.respond(p.response_to(request, S.ESME_RTHROTTLED))
        pause = admission.limits.pause
        if pause:
            self._paused[connection] = deque() if held is None else held
            connection.pause_reading()
            asyncio.get_running_loop().call_later(pause, self._resume, connection)

    def _resume(self, connection: SmppConnection) -> None:
        """The held submits, in order, while the account has room; with none
        left, the oldest is refused and the rest wait another pause (each
        look costs one refusal, not a pass over them); once none is left the
        session is read again."""
        held = self._paused.pop(connection, None)
        bound = self._bound.get(connection)
        if held is None or bound is None or not connection.is_open:
            return
        admits = self.pipeline.admission.admits
        account = bound[0]
        while held and admits(account.id):
            self.request_received(connection, held.popleft())
        if held:
            self._shed(connection, account, held.popleft(), held)
        else:
            connection.resume_reading()

    def _query(self, account: AccountConfig, request: p.QuerySm) -> p.Pdu | None:
        """From this shard's recent states; None when it does not know the
        message (as the account's, from the source_addr the query names)."""
        known = self.pipeline.states.get(request.message_id, account.id, request.source_addr)
        if known is None:
            return None
        final_date = ""
        if known.final_at:
            final_date = format_absolute(datetime.fromtimestamp(known.final_at, UTC))
        return p.response_to(
            request,
            message_id=request.message_id,
            final_date=final_date,
            message_state=int(known.state),
            error_code=min(known.error_code, 255),
        )

    async def _query_history(
        self, connection: SmppConnection, account: AccountConfig, request: p.QuerySm
    ) -> None:
        """A message another shard accepted, or one this shard forgot: the
        message history (PostgreSQL) answers, as of what the persister wrote."""
        assert self.history is not None
        try:
            record = await self.history.get(account.id, request.message_id)
        except Exception:
            self._history_down.add(account.id)
            record = None
        if not connection.is_open:
            return
        if record is None or (request.source_addr and request.source_addr != record.source):
            connection.respond(p.response_to(request, S.ESME_RQUERYFAIL))
            return
        state = SMPP_STATE[record.state]
        final_date = ""
        if is_final(state):
            moment = datetime.fromtimestamp(record.updated_at / 1000, UTC)
            final_date = format_absolute(moment)
        connection.respond(
            p.response_to(
                request,
                message_id=request.message_id,
                final_date=final_date,
                message_state=int(state),
                error_code=min(record.error_code or 0, 255),
            )
        )

    def _submit_multi(
        self,
        connection: SmppConnection,
        account: AccountConfig,
        request: p.SubmitMulti,
        options: SubmitOptions,
    ) -> None:
        """Each SME address becomes its own message (its own id and receipt); the
        response carries the first accepted id and every refusal (§4.5.2)."""
        unsuccess: list[p.UnsuccessSme] = []
        accepted: list[str] = []
        waiting = len(request.dest_addresses)

        def answer() -> None:
            if connection.is_open:
                connection.respond(
                    p.response_to(
                        request,
                        message_id=accepted[0] if accepted else "",
                        unsuccess_sme=tuple(unsuccess),
                    )
                )

        for dest in request.dest_addresses:
            if isinstance(dest, p.DistributionList):
                unsuccess.append(p.UnsuccessSme(0, 0, dest.name, S.ESME_RINVDLNAME))
                waiting -= 1
                continue

            def reply(
                status: int, message_id: str, _reason: str, dest: p.SmeAddress = dest
            ) -> None:
                nonlocal waiting
                if status == S.ESME_ROK:
                    accepted.append(message_id)
                else:
                    unsuccess.append(p.UnsuccessSme(dest.ton, dest.npi, dest.address, status))
                waiting -= 1
                if waiting == 0:
                    answer()

            single = p.SubmitSm(
                service_type=request.service_type,
                source_addr_ton=request.source_addr_ton,
                source_addr_npi=request.source_addr_npi,
                source_addr=request.source_addr,
                dest_addr_ton=dest.ton,
                dest_addr_npi=dest.npi,
                destination_addr=dest.address,
                esm_class=request.esm_class,
                priority_flag=request.priority_flag,
                validity_period=request.validity_period,
                registered_delivery=request.registered_delivery,
                data_coding=request.data_coding,
                short_message=request.short_message,
                tlvs=request.tlvs,
            )
            self.pipeline.submit(account, single, reply, options)
        if waiting == 0:
            answer()

    async def _enabled(self, account: str) -> bool:
        """A disabled account (admin API, every shard) may not bind; a ledger
        that does not answer does not lock customers out."""
        try:
            state = await self.pipeline.ledger.get_account(account)
        except Exception:
            log.warning("bind: ledger unavailable, enabled flag not checked", account=account)
            return True
        return state is None or state.limits.enabled

    async def _bind(self, connection: SmppConnection, request: p.Pdu) -> None:
        assert isinstance(request, p.BindTransmitter | p.BindReceiver | p.BindTransceiver)
        if connection in self._binding:  # one at a time: parallel guesses wait their turn
            connection.respond(p.response_to(request, S.ESME_RBINDFAIL, system_id=self.system_id))
            return
        self._binding.add(connection)
        try:
            status, locked = await self._authenticate(connection, request)
        finally:
            self._binding.discard(connection)
        account = self.accounts.get(request.system_id)
        source = connection.peer[0] if connection.peer else ""
        allowed = account is None or ip_allowed(account.allowed_ips, source)
        if account is not None and status == S.ESME_ROK and not allowed:
            log.warning("bind refused: address not allowed", account=account.id, peer=source)
            status = S.ESME_RBINDFAIL
        if account is not None and status == S.ESME_ROK:
            full = self.binds.count(account.id) >= account.max_binds
            if full or not await self._enabled(account.id):
                status = S.ESME_RBINDFAIL
        if not connection.is_open:
            return
        connection.respond(p.response_to(request, status, system_id=self.system_id))
        if status != S.ESME_ROK or account is None:
            if not locked:  # a lockout is logged once, not per refused bind
                log.info("bind refused", system_id=request.system_id, status=S(status).name)
            return
        rate = account.bind_throughput
        bucket = TokenBucket(rate, max(1, rate)) if rate else None
        serial = self.binds.add(account.id, connection)
        self._bound[connection] = (account, bucket, SubmitOptions(bind=serial))
        log.info("bound", account=account.id, peer=connection.peer, kind=type(request).__name__)
        if request.command_id in _RECEIVING:
            self.pipeline.delivery.account_bound(account.id)

    async def _authenticate(
        self,
        connection: SmppConnection,
        request: p.BindTransmitter | p.BindReceiver | p.BindTransceiver,
    ) -> tuple[int, bool]:
        """ESME_ROK, or the status of a refused login: ESME_RBINDFAIL for an
        unknown system_id, a wrong password and a lockout alike, unless the
        operator asked for the distinct codes (``[security] bind_failure_status``);
        and whether the caller is locked out."""
        name = request.system_id
        account = self.accounts.get(name)
        stored = account.password_hash if account is not None else None
        source = connection.peer[0] if connection.peer else ""
        attempt = await self.logins.attempt(
            "smpp",
            source,
            name,
            lambda: self.logins.passwords.verify(name, request.password, stored),
        )
        if attempt.verdict is LoginVerdict.ACCEPTED:
            return S.ESME_ROK, False
        if attempt.verdict is LoginVerdict.LOCKED:
            return S.ESME_RBINDFAIL, True
        if self.logins.config.bind_failure_status == "distinct":
            return (S.ESME_RINVSYSID if account is None else S.ESME_RINVPASWD), False
        return S.ESME_RBINDFAIL, False

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        self._paused.pop(connection, None)
        bound = self._bound.pop(connection, None)
        if bound is not None:
            self.binds.remove(bound[0].id, connection)


def as_submit_sm(request: p.DataSm) -> p.SubmitSm:
    """A data_sm (§4.7) carries its text in message_payload; route and bill it
    as the submit_sm it is."""
    return p.from_data_sm(p.SubmitSm, request, sequence_number=request.sequence_number)


def _answerer(connection: SmppConnection, request: p.Pdu) -> Answer:
    """Answers ``request`` with a bare status, if the customer is still there to hear it."""

    def answer(status: int) -> None:
        if connection.is_open:
            connection.respond(p.response_to(request, status))

    return answer


def _replier(
    connection: SmppConnection, request: p.Pdu, response_class: type[p.SubmitSmResp | p.DataSmResp]
) -> Reply:
    sequence = request.sequence_number

    def reply(status: int, message_id: str, _reason: str) -> None:
        if connection.is_open:
            connection.respond(
                response_class(
                    sequence_number=sequence, command_status=status, message_id=message_id
                )
            )

    return reply
