"""The gateway end to end over real sockets, with both ledger backends."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from prometheus_client import generate_latest
from redis.asyncio import Redis

from bench.smsc_sim import SimulatedSmsc
from ledger.events import MessageEvent
from ledger.events import MessageState as Recorded
from router import load_data
from smpp import pdu as p
from smpp.aio import CommandFailed, open_session
from smpp.constants import CommandStatus as S
from smpp.receipt import MessageState
from smpp.tlv import Tag
from tests.cluster import ON_EACH_BACKEND
from tests.engine.gateway_harness import CREDIT, OTP, PRICE, Customer, running_gateway, simulator
from tests.ledger.helpers import redis_events

pytestmark = ON_EACH_BACKEND


async def test_submit_gets_a_receipt_with_our_id_and_is_billed(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running_gateway(backend, [simulator()], redis_client, namespace) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        response = await connection.call(OTP)
        receipt = await asyncio.wait_for(customer.delivered.get(), 10)
        assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == response.message_id
        assert receipt.tlvs[Tag.MESSAGE_STATE] == MessageState.DELIVERED
        assert f"id:{response.message_id} ".encode() in receipt.short_message
        await gateway.pipeline.drain()
        state = await gateway.ledger.get_account("bank")
        assert state is not None and (state.balance, state.held) == (CREDIT - PRICE, 0)
        await connection.unbind()


async def test_no_route_and_no_credit_hold_nothing(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running_gateway(
        backend, [simulator()], redis_client, namespace, credit=PRICE
    ) as gateway:
        connection = await Customer().bind(gateway)
        with pytest.raises(CommandFailed) as caught:
            await connection.call(p.SubmitSm(destination_addr="447700900123"))
        assert caught.value.status == S.ESME_RINVDSTADR
        await connection.call(OTP)
        with pytest.raises(CommandFailed) as caught:
            await connection.call(OTP)
        assert caught.value.status == S.ESME_RSUBMITFAIL
        await connection.unbind()


async def test_bad_binds_are_refused(backend: str, redis_client: Redis, namespace: str) -> None:
    async with running_gateway(backend, [simulator()], redis_client, namespace) as gateway:
        port = gateway.ports[0]
        for system_id, password in [("bank", "wrong"), ("nobody", "secret")]:
            bind = p.BindTransceiver(system_id=system_id, password=password)
            with pytest.raises(CommandFailed) as caught:
                await open_session("127.0.0.1", port, bind, Customer())
            assert caught.value.status == S.ESME_RBINDFAIL  # alike: no account enumeration


async def test_temporary_errors_fail_over_to_the_next_operator(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    failing = simulator(error_rate=1.0)  # ESME_RSYSERR: temporary, tried 3 times
    healthy: SimulatedSmsc = simulator()
    async with running_gateway(backend, [failing, healthy], redis_client, namespace) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        response = await connection.call(OTP)
        receipt = await asyncio.wait_for(customer.delivered.get(), 10)
        assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == response.message_id
        assert healthy.stats.snapshot()["submits"] == 1
        assert failing.stats.snapshot()["submits"] == 3
        await connection.unbind()


async def test_every_state_change_is_a_message_event(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running_gateway(backend, [simulator()], redis_client, namespace) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        response = await connection.call(OTP)
        await asyncio.wait_for(customer.delivered.get(), 10)
        await gateway.pipeline.drain()
        if backend == "redis":
            events = await redis_events(redis_client, gateway.ledger)  # type: ignore[arg-type]
        else:
            events = list(gateway.ledger.events)  # type: ignore[attr-defined]
        states = [
            e.state
            for e in events
            if isinstance(e, MessageEvent) and e.message_id == response.message_id
        ]
        assert states == [Recorded.ACCEPTED, Recorded.SUBMITTED, Recorded.DELIVERED]
        await connection.unbind()


async def test_mo_follows_the_mo_routes_to_the_account(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    operator = simulator()
    async with running_gateway(backend, [operator], redis_client, namespace) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        operator.inject_mo("STOP", source="33611111111", destination="36000", system_id="smsgw")
        mo = await asyncio.wait_for(customer.delivered.get(), 10)
        assert isinstance(mo, p.DeliverSm) and mo.esm_class == 0
        assert (mo.source_addr, mo.destination_addr, mo.short_message) == (
            "33611111111",
            "36000",
            b"STOP",
        )
        await connection.unbind()


async def test_metrics_describe_the_shard(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running_gateway(backend, [simulator()], redis_client, namespace) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        await connection.call(OTP)
        await asyncio.wait_for(customer.delivered.get(), 10)
        text = generate_latest(gateway.registry).decode()
        assert 'smsgw_messages_total{event="accepted"} 1.0' in text
        assert 'smsgw_connector_binds{connector="op-0",state="bound"} 1.0' in text
        assert 'smsgw_customer_binds{account="bank"} 1.0' in text
        assert "smsgw_accept_to_submit_seconds_count 1.0" in text
        assert "smsgw_submit_to_receipt_seconds_count 1.0" in text
        await connection.unbind()


async def test_reload_swaps_routes_without_dropping_binds(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running_gateway(backend, [simulator()], redis_client, namespace) as gateway:
        connection = await Customer().bind(gateway)
        await connection.call(OTP)
        rejecting = load_data(
            {
                "currency": "EUR",
                "mt_routes": [
                    {
                        "id": "closed",
                        "target": {"kind": "reject", "command_status": 0x45, "reason": "closed"},
                    }
                ],
            }
        )
        changed = gateway.reload(msgspec.structs.replace(gateway.config, routing=rejecting))
        assert changed["restart_needed"] is False
        with pytest.raises(CommandFailed) as caught:
            await connection.call(OTP)
        assert caught.value.status == S.ESME_RSUBMITFAIL
        assert connection.is_open
        await connection.unbind()


async def test_query_data_sm_submit_multi_and_intermediate_receipts(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with running_gateway(backend, [simulator()], redis_client, namespace) as gateway:
        customer = Customer()
        connection = await customer.bind(gateway)
        data = await connection.call(
            p.DataSm(
                destination_addr="33612345678",
                registered_delivery=0x11,
                tlvs={Tag.MESSAGE_PAYLOAD: b"data_sm text"},
            )
        )
        assert isinstance(data, p.DataSmResp) and data.message_id
        intermediate = await asyncio.wait_for(customer.delivered.get(), 10)
        assert intermediate.esm_class == 0x20
        assert intermediate.tlvs[Tag.MESSAGE_STATE] == MessageState.ENROUTE
        final = await asyncio.wait_for(customer.delivered.get(), 10)
        assert final.esm_class == 0x04 and final.tlvs[Tag.RECEIPTED_MESSAGE_ID] == data.message_id
        query = await connection.call(p.QuerySm(message_id=data.message_id))
        assert query.message_state == MessageState.DELIVERED and len(query.final_date) == 16
        with pytest.raises(CommandFailed) as caught:
            await connection.call(p.QuerySm(message_id="not-ours"))
        assert caught.value.status == S.ESME_RQUERYFAIL
        multi = await connection.call(
            p.SubmitMulti(
                dest_addresses=(
                    p.SmeAddress(1, 1, "33611111111"),
                    p.SmeAddress(1, 1, "447700900123"),
                    p.DistributionList("staff"),
                ),
                short_message=b"to many",
            )
        )
        assert multi.message_id
        assert sorted((u.address, u.error_status_code) for u in multi.unsuccess_sme) == [
            ("447700900123", S.ESME_RINVDSTADR),
            ("staff", S.ESME_RINVDLNAME),
        ]
        await connection.unbind()
