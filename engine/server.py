"""Our SMSC side: customers bind to us and submit.

The adapter is thin: binds are authenticated (the scrypt check runs in a
thread, binds are rare), submits go straight to the pipeline with a reply
callback, and the state rules of `smpp.session` already refused anything sent
in the wrong state. Operations we do not serve are answered, never dropped.
"""

from __future__ import annotations

import asyncio

import structlog

from engine.accounts import AccountConfig, BindRegistry
from engine.passwords import verify_password
from engine.pipeline import Pipeline
from engine.throttle import TokenBucket
from smpp import pdu as p
from smpp.aio import SmppConnection
from smpp.constants import CommandId as C
from smpp.constants import CommandStatus as S

log = structlog.get_logger("smsgw.server")

_UNSERVED = {
    C.QUERY_SM: S.ESME_RQUERYFAIL,
    C.CANCEL_SM: S.ESME_RCANCELFAIL,
    C.REPLACE_SM: S.ESME_RREPLACEFAIL,
    C.SUBMIT_MULTI: S.ESME_RSUBMITFAIL,
    C.DATA_SM: S.ESME_RSUBMITFAIL,
}
_RECEIVING = (C.BIND_RECEIVER, C.BIND_TRANSCEIVER)


class CustomerSessions:
    """The `SessionHandler` of every customer connection on this shard."""

    def __init__(
        self,
        accounts: dict[str, AccountConfig],
        binds: BindRegistry,
        pipeline: Pipeline,
        system_id: str = "smsgw",
    ) -> None:
        self.accounts = accounts
        self.binds = binds
        self.pipeline = pipeline
        self.system_id = system_id
        self._bound: dict[SmppConnection, tuple[AccountConfig, TokenBucket | None]] = {}

    def request_received(self, connection: SmppConnection, request: p.Pdu) -> None:
        bound = self._bound.get(connection)
        if isinstance(request, p.SubmitSm) and bound is not None:
            account, bucket = bound
            if bucket is not None and not bucket.try_take(1):
                connection.respond(p.response_to(request, S.ESME_RTHROTTLED))
                return
            sequence = request.sequence_number

            def reply(status: int, message_id: str) -> None:
                if connection.is_open:
                    connection.respond(
                        p.SubmitSmResp(
                            sequence_number=sequence, command_status=status, message_id=message_id
                        )
                    )

            self.pipeline.submit(account, request, reply)
        elif request.command_id in (C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER):
            asyncio.get_running_loop().create_task(self._bind(connection, request))
        else:
            status = _UNSERVED.get(request.command_id, S.ESME_RINVCMDID)  # type: ignore[call-overload]
            connection.respond(p.response_to(request, status))

    async def _bind(self, connection: SmppConnection, request: p.Pdu) -> None:
        assert isinstance(request, p.BindTransmitter | p.BindReceiver | p.BindTransceiver)
        account = self.accounts.get(request.system_id)
        status = S.ESME_ROK
        if account is None:
            status = S.ESME_RINVSYSID
        elif not await asyncio.to_thread(verify_password, request.password, account.password_hash):
            status = S.ESME_RINVPASWD
        elif self.binds.count(account.id) >= account.max_binds:
            status = S.ESME_RBINDFAIL
        if not connection.is_open:
            return
        connection.respond(p.response_to(request, status, system_id=self.system_id))
        if status != S.ESME_ROK or account is None:
            log.info("bind refused", system_id=request.system_id, status=S(status).name)
            return
        rate = account.bind_throughput
        bucket = TokenBucket(rate, max(1, rate)) if rate else None
        self._bound[connection] = (account, bucket)
        self.binds.add(account.id, connection)
        log.info("bound", account=account.id, peer=connection.peer, kind=type(request).__name__)
        if request.command_id in _RECEIVING:
            self.pipeline.bound(account.id)

    def connection_closed(self, connection: SmppConnection, lost: list[int]) -> None:
        bound = self._bound.pop(connection, None)
        if bound is not None:
            self.binds.remove(bound[0].id, connection)
