"""The whole gateway under adversity, over real sockets, with both ledger backends.

Operators that drop or throttle, customers that bind badly, send garbage or
stop reading, and one account flooding while another sends an OTP. Each test
asserts what must hold whatever the timing: every accepted message gets one
receipt with our id and is billed once, refusals carry the precise
command_status, and nobody else's traffic suffers.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct

import pytest
import smpplib.client
import smpplib.exceptions
from redis.asyncio import Redis

from bench.smsc_sim_config import Delay
from engine.config import GatewayLimits
from engine.messages.message import Priority
from smpp import codec
from smpp import pdu as p
from smpp.aio import CommandFailed, SmppConnection
from smpp.constants import CommandId as C
from smpp.constants import CommandStatus as S
from smpp.receipt import MessageState
from tests.engine.gateway_harness import PASSWORD, PRICE, Customer, account
from tests.engine.peers import (
    WAIT,
    RawCustomer,
    balance_and_held,
    gateway_with,
    receipt_ids,
    recording_operator,
    submit,
    until,
)

pytestmark = pytest.mark.parametrize("backend", ["memory", "redis"])

CREDIT = 100 * PRICE
WINDOW = 10
"""The harness connector's window: submit_sm in flight per operator bind."""
SLOW = Delay(fixed_ms=500)
"""An operator answering this late still holds a full window when the test acts."""
TCP_BUFFER = 65_536
FLOOD = 100_000
"""submit_sm a customer that stops reading may try to write: 7 MB, 1.7 MB of answers."""
UNROUTED = "447700900123"
"""The harness routes only +33: a submit_sm elsewhere is refused before the ledger."""


async def next_receipts(customer: Customer, count: int) -> list[p.DeliverSm]:
    receipts = []
    async with asyncio.timeout(WAIT):
        while len(receipts) < count:
            receipts.append(await customer.delivered.get())
    assert customer.delivered.empty(), "a receipt more than messages accepted"
    return receipts  # type: ignore[return-value]


async def submit_all(connection: SmppConnection, count: int, **fields: object) -> list[p.Pdu]:
    """``count`` submit_sm sent back to back, not waiting for each answer."""
    requests = [
        connection.request(submit(text=f"Payment {n} confirmed".encode(), **fields))  # type: ignore[arg-type]
        for n in range(count)
    ]
    async with asyncio.timeout(WAIT):
        return list(await asyncio.gather(*requests))


def accepted_ids(answers: list[p.Pdu]) -> list[str]:
    return [a.message_id for a in answers if a.command_status == S.ESME_ROK]  # type: ignore[attr-defined]


# -- operators that fail ---------------------------------------------------------


async def test_a_dropped_operator_link_loses_nothing_and_bills_once(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    first, second = recording_operator(response_latency=SLOW), recording_operator()
    messages = 2 * WINDOW
    quick = GatewayLimits(failover_after=0.2, health_interval=0.05)
    async with gateway_with(
        backend, [first, second], redis_client, namespace, credit=CREDIT, limits=quick
    ) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        answers = await submit_all(connection, messages, registered_delivery=1)
        ids = accepted_ids(answers)
        assert len(ids) == messages
        await first.wait_until(lambda: len(first.submitted) >= WINDOW)
        assert first.drop_connections() == 1
        receipts = await next_receipts(customer, messages)
        assert sorted(receipt_ids(receipts)) == sorted(ids)
        assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE * messages, 0)
        # What was on the wire when the link dropped went out again.
        assert len(first.submitted) + len(second.submitted) > messages
        await connection.unbind()


async def test_messages_queued_for_an_operator_that_went_down_fail_over(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    first, second = recording_operator(response_latency=SLOW), recording_operator()
    messages = 2 * WINDOW
    quick = GatewayLimits(failover_after=0.2, health_interval=0.05)
    async with gateway_with(
        backend, [first, second], redis_client, namespace, credit=CREDIT, limits=quick
    ) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        ids = accepted_ids(await submit_all(connection, messages, registered_delivery=1))
        await first.wait_until(lambda: len(first.submitted) >= WINDOW)
        await first.stop()
        receipts = await next_receipts(customer, messages)
        assert sorted(receipt_ids(receipts)) == sorted(ids)
        assert second.stats.responses.get(S.ESME_ROK) == messages
        assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE * messages, 0)
        await connection.unbind()


async def test_operator_throttling_slows_the_connector_loses_nothing_billed_once(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    first = recording_operator(max_submits_per_second=WINDOW)
    second = recording_operator()
    messages = 2 * WINDOW
    async with gateway_with(
        backend, [first, second], redis_client, namespace, credit=CREDIT
    ) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        ids = accepted_ids(await submit_all(connection, messages, registered_delivery=1))
        receipts = await next_receipts(customer, messages)
        assert sorted(receipt_ids(receipts)) == sorted(ids)
        taken = [op.stats.responses.get(S.ESME_ROK, 0) for op in (first, second)]
        assert sum(taken) == messages
        assert first.stats.responses.get(S.ESME_RTHROTTLED, 0) >= 1
        assert taken == [messages, 0]  # "slower" is no reason to fail over
        assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE * messages, 0)
        await connection.unbind()


# -- throttling answers ------------------------------------------------------------


async def test_each_bind_is_throttled_on_its_own(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    rate = 5
    async with gateway_with(
        backend,
        [recording_operator()],
        redis_client,
        namespace,
        accounts=(account("bank", bind_throughput=rate),),
        credit=CREDIT,
    ) as gateway:
        customer = Customer()
        first = await customer.bind(gateway)
        answers = await submit_all(first, 4 * rate, registered_delivery=1)
        statuses = [a.command_status for a in answers]
        throttled = [a for a in answers if a.command_status == S.ESME_RTHROTTLED]
        assert set(statuses) == {S.ESME_ROK, S.ESME_RTHROTTLED}
        assert statuses.count(S.ESME_ROK) >= rate
        assert all(a.message_id == "" for a in throttled)  # type: ignore[attr-defined]
        # Another bind of the same account starts with its own full bucket.
        second = await customer.bind(gateway)
        more = await submit_all(second, rate, registered_delivery=1)
        assert [a.command_status for a in more] == [S.ESME_ROK] * rate
        ids = accepted_ids(answers) + accepted_ids(more)
        receipts = await next_receipts(customer, len(ids))
        assert sorted(receipt_ids(receipts)) == sorted(ids)
        assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE * len(ids), 0)
        await first.unbind()
        await second.unbind()


async def test_account_throughput_holds_across_binds(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    """Parts per second for the account as a whole (every bind, every shard)."""
    rate = 3
    async with gateway_with(
        backend,
        [recording_operator()],
        redis_client,
        namespace,
        accounts=(account("bank", throughput=rate),),
        credit=CREDIT,
    ) as gateway:
        customer = Customer()
        binds = [await customer.bind(gateway), await customer.bind(gateway)]
        batches = await asyncio.gather(
            *(submit_all(c, 2 * rate, registered_delivery=1) for c in binds)
        )
        answers = [answer for batch in batches for answer in batch]
        assert {a.command_status for a in answers} == {S.ESME_ROK, S.ESME_RTHROTTLED}
        ids = accepted_ids(answers)
        # At most two one-second windows pass while these few submits go in.
        assert rate <= len(ids) <= 2 * rate
        receipts = await next_receipts(customer, len(ids))
        assert sorted(receipt_ids(receipts)) == sorted(ids)
        assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE * len(ids), 0)
        for connection in binds:
            await connection.unbind()


# -- customers that misbehave --------------------------------------------------------


def _smpplib_bind(port: int, password: str) -> int:
    """The command_status smpplib reports for a bind with ``password``."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=WAIT, allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_transceiver(system_id="bank", password=password)
    except smpplib.exceptions.PDUError as error:
        return int(error.args[1])
    finally:
        client.disconnect()
    return S.ESME_ROK


async def test_bad_binds_and_requests_out_of_state_are_refused(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with gateway_with(
        backend,
        [recording_operator()],
        redis_client,
        namespace,
        accounts=(account("bank", max_binds=1), account("shop")),
        credit=CREDIT,
    ) as gateway:
        port = gateway.ports[0]
        bind = p.BindTransceiver
        raw = await RawCustomer.connect(port)
        refusals = [
            (submit(), S.ESME_RINVBNDSTS),
            (bind(system_id="bank", password="wrong"), S.ESME_RBINDFAIL),
            (bind(system_id="nobody", password=PASSWORD), S.ESME_RBINDFAIL),
        ]
        for request, status in refusals:
            answer = await raw.call(request)
            assert (type(answer), answer.command_status) == (request.response_class, status)
        # A system_id over its 16 octets (§4.1.1), which our own encoder refuses to write.
        body = b"bank" * 5 + b"\0" + PASSWORD.encode() + b"\0\0\x34\0\0\0"
        raw.writer.write(_header(16 + len(body), C.BIND_TRANSCEIVER, 99) + body)
        answer = await raw.read_pdu()
        assert isinstance(answer, p.BindTransceiverResp) and answer.sequence_number == 99
        assert answer.command_status == S.ESME_RINVSYSID
        await raw.bind("bank")
        again = await raw.call(bind(system_id="bank", password=PASSWORD))
        assert again.command_status == S.ESME_RALYBND
        other = await RawCustomer.connect(port)
        over_limit = await other.call(bind(system_id="bank", password=PASSWORD))
        assert over_limit.command_status == S.ESME_RBINDFAIL
        receiver = await other.call(p.BindReceiver(system_id="shop", password=PASSWORD))
        assert receiver.command_status == S.ESME_ROK
        assert (await other.call(submit())).command_status == S.ESME_RINVBNDSTS
        assert await asyncio.to_thread(_smpplib_bind, port, "wrong") == S.ESME_RBINDFAIL
        assert await asyncio.to_thread(_smpplib_bind, port, PASSWORD) == S.ESME_RBINDFAIL
        # The one good bind still works and is the only one counted.
        answer = await raw.call(submit())
        assert answer.command_status == S.ESME_ROK
        assert (gateway.binds.count("bank"), gateway.binds.count("shop")) == (1, 1)
        await raw.close()
        await other.close()


def _header(length: int, command_id: int, sequence: int) -> bytes:
    return struct.pack(">IIII", length, command_id, 0, sequence)


UNKNOWN_COMMAND = 0x0000_0077


def _noise(rng: random.Random) -> bytes:
    """Bytes no ESME should send: raw noise, or a plausible header over a random body."""
    if rng.random() < 0.5:
        return rng.randbytes(rng.randrange(1, 300))
    command_id = rng.choice([*C, UNKNOWN_COMMAND])
    length = rng.randrange(16, 200)
    return _header(length, command_id, rng.randrange(1, 1 << 31)) + rng.randbytes(length - 16)


async def test_garbage_is_nacked_then_cut_while_other_customers_carry_on(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with gateway_with(
        backend, [recording_operator()], redis_client, namespace, credit=CREDIT
    ) as gateway:
        port = gateway.ports[0]
        customer = Customer()
        bystander = await customer.bind(gateway, "shop")

        # Unknown commands: each nacked, the connection cut after the limit in a row.
        raw = await RawCustomer.connect(port)
        limit = gateway.config.session.max_malformed
        raw.writer.write(b"".join(_header(16, UNKNOWN_COMMAND, n) for n in range(1, limit + 2)))
        nacks = [await raw.read_pdu() for _ in range(limit)]
        assert [(type(n), n.command_status, n.sequence_number) for n in nacks] == [  # type: ignore[union-attr]
            (p.GenericNack, S.ESME_RINVCMDID, n) for n in range(1, limit + 1)
        ]
        assert await raw.read_pdu() is None
        await raw.close()

        # A good PDU in between resets the count.
        raw = await RawCustomer.connect(port)
        for _ in range(2):
            raw.writer.write(b"".join(_header(16, UNKNOWN_COMMAND, 9) for _ in range(limit - 1)))
            answers = [await raw.read_pdu() for _ in range(limit - 1)]
            assert {type(a) for a in answers} == {p.GenericNack}
            assert isinstance(await raw.call(p.EnquireLink()), p.EnquireLinkResp)
        await raw.close()

        # A command_length that cannot be framed: one nack, then the cut.
        for length in (8, 0xFFFF_FFFF):
            raw = await RawCustomer.connect(port)
            raw.writer.write(_header(length, C.SUBMIT_SM, 7))
            nack = await raw.read_pdu()
            assert isinstance(nack, p.GenericNack) and nack.command_status == S.ESME_RINVCMDLEN
            assert await raw.read_pdu() is None
            await raw.close()

        # A malformed submit_sm on a bound session is refused; the session lives on.
        raw = await RawCustomer.connect(port)
        await raw.bind("bank")
        raw.writer.write(_header(16 + 40, C.SUBMIT_SM, 5) + b"\xff" * 40)
        refused = await raw.read_pdu()
        assert isinstance(refused, p.SubmitSmResp) and refused.sequence_number == 5
        assert refused.command_status != S.ESME_ROK
        assert (await raw.call(submit())).command_status == S.ESME_ROK
        await raw.close()

        # Seeded noise: every answer is a well-formed PDU, and our EOF ends it.
        rng = random.Random(20_240_605)
        for _ in range(30):
            raw = await RawCustomer.connect(port)
            raw.writer.write(_noise(rng))
            raw.writer.write_eof()
            while (answer := await raw.read_pdu()) is not None:
                assert answer.is_response
            await raw.close()

        response = await bystander.call(submit(registered_delivery=1))
        [receipt] = await next_receipts(customer, 1)
        assert receipt_ids([receipt]) == [response.message_id]  # type: ignore[attr-defined]
        await bystander.unbind()


async def _send_until_stalled(sock: socket.socket, data: bytes, stall: float) -> int:
    """Write ``data`` without ever reading; stop once the socket stayed
    unwritable for ``stall`` seconds. Returns the octets written."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    sent = 0
    while sent < len(data):
        try:
            sent += sock.send(view[sent : sent + 65_536])
            continue
        except BlockingIOError:
            pass
        writable = asyncio.Event()
        loop.add_writer(sock, writable.set)
        try:
            await asyncio.wait_for(writable.wait(), stall)
        except TimeoutError:
            return sent
        finally:
            loop.remove_writer(sock)
    return sent


async def _bind_raw(sock: socket.socket, system_id: str) -> None:
    loop = asyncio.get_running_loop()
    request = p.BindTransceiver(sequence_number=1, system_id=system_id, password=PASSWORD)
    await loop.sock_sendall(sock, codec.encode(request))
    answer = b""
    async with asyncio.timeout(WAIT):
        while len(answer) < 4 or len(answer) < int.from_bytes(answer[:4], "big"):
            answer += await loop.sock_recv(sock, 4096)
    assert codec.decode(answer).command_status == S.ESME_ROK


async def test_a_customer_that_stops_reading_is_paused_not_buffered(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    """Back-pressure: once our answers to a customer back up, we stop reading
    it, so it cannot grow our memory, while other customers are served."""
    async with gateway_with(
        backend, [recording_operator()], redis_client, namespace, credit=CREDIT
    ) as gateway:
        # As on a host with modest TCP buffers: Linux autotuning would let
        # the kernel take megabytes of answers first, which only costs time.
        for listening in gateway.servers[0].sockets:
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, TCP_BUFFER)
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, TCP_BUFFER)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, TCP_BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, TCP_BUFFER)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", gateway.ports[0]))
        await _bind_raw(sock, "shop")
        template = codec.encode(submit(destination=UNROUTED))
        size = len(template)
        flood = b"".join(
            template[:12] + n.to_bytes(4, "big") + template[16:] for n in range(2, FLOOD + 2)
        )
        sent = await _send_until_stalled(sock, flood, stall=0.5)
        assert sent < FLOOD * size, "the gateway read everything: no back-pressure"

        customer = Customer()
        other = await customer.bind(gateway)
        answer = await other.call(submit(registered_delivery=1))
        [receipt] = await next_receipts(customer, 1)
        assert receipt_ids([receipt]) == [answer.message_id]  # type: ignore[attr-defined]
        await other.unbind()

        # Reading again resumes the flooder: every PDU it began gets its answer, in order.
        flooder = RawCustomer(*await asyncio.open_connection(sock=sock))
        complete = -(-sent // size)
        flooder.writer.write(flood[sent : complete * size])
        sequences = []
        while len(sequences) < complete:
            answer = await flooder.read_pdu()
            assert isinstance(answer, p.SubmitSmResp)
            assert answer.command_status == S.ESME_RINVDSTADR
            sequences.append(answer.sequence_number)
        assert sequences == list(range(2, complete + 2))
        await flooder.close()


# -- fairness ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority_flag", "ahead"),
    [(3, 1), (0, 2)],
    ids=["otp-over-bulk", "bulk-round-robin"],
)
async def test_one_accounts_flood_does_not_hold_up_anothers_message(
    backend: str, redis_client: Redis, namespace: str, priority_flag: int, ahead: int
) -> None:
    """A floods bulk through a slow operator (one submit_sm at a time); B's
    message, queued behind A's backlog, reaches the operator after at most
    ``ahead`` more of A's: the one that may have been on its way when B's was
    queued, plus for a bulk message A's round-robin turn (an OTP has none)."""
    flood = 50
    operator = recording_operator(response_latency=Delay(fixed_ms=100))
    async with gateway_with(
        backend,
        [operator],
        redis_client,
        namespace,
        accounts=(account("shop", priority=Priority.BULK), account("bank", priority=Priority.BULK)),
        connector_settings={"window": 1},
        credit=CREDIT,
    ) as gateway:
        flooding, waiting = Customer(), Customer()
        shop = await flooding.bind(gateway, "shop")
        assert len(accepted_ids(await submit_all(shop, flood))) == flood
        bank = await waiting.bind(gateway, "bank")
        text = b"Your code is 482913"
        answer = await bank.call(
            submit(text=text, priority_flag=priority_flag, registered_delivery=1)
        )
        seen_then = len(operator.submitted)
        assert seen_then + ahead < flood, "A's backlog was gone before B's message came"
        await operator.wait_until(lambda: any(s.short_message == text for s in operator.submitted))
        position = next(i for i, s in enumerate(operator.submitted) if s.short_message == text)
        assert position <= seen_then + ahead
        [receipt] = await next_receipts(waiting, 1)
        assert receipt_ids([receipt]) == [answer.message_id]  # type: ignore[attr-defined]
        await bank.unbind()
        await shop.unbind()


async def test_cancel_sm_takes_a_queued_message_back_and_releases_its_hold(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    slow = recording_operator(response_latency=SLOW)
    async with gateway_with(backend, [slow], redis_client, namespace, credit=CREDIT) as gateway:
        connection = await Customer().bind(gateway)
        ids = accepted_ids(await submit_all(connection, 2 * WINDOW))
        await slow.wait_until(lambda: len(slow.submitted) >= WINDOW)
        queued = ids[-1]
        assert (await connection.call(p.CancelSm(message_id=queued))).command_status == 0
        with pytest.raises(CommandFailed) as caught:
            await connection.call(p.CancelSm(message_id=ids[0]))  # already with the operator
        assert caught.value.status == S.ESME_RCANCELFAIL
        query = await connection.call(p.QuerySm(message_id=queued))
        assert query.message_state == MessageState.DELETED
        await until(lambda: gateway.pipeline.counters["submitted"] == len(ids) - 1)
        assert await balance_and_held(gateway, "bank") == (CREDIT - PRICE * (len(ids) - 1), 0)
        await connection.unbind()
