"""Wrong binds over real sockets: the same answer for an unknown account and
a wrong password, a lockout that refuses without checking, one bind check
at a time per connection, and the counts Prometheus reads."""

from __future__ import annotations

from prometheus_client import generate_latest

from engine.customers.login_guard import SecurityConfig
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from tests.engine.gateway_harness import PASSWORD, running_gateway, simulator
from tests.engine.peers import RawCustomer

NO_DELAY = SecurityConfig(login_failures_before_delay=100, login_failures_before_lockout=4)


def bind(system_id: str, password: str) -> p.BindTransceiver:
    return p.BindTransceiver(system_id=system_id, password=password)


async def test_unknown_account_and_wrong_password_get_the_same_answer() -> None:
    async with running_gateway("memory", [simulator()], security=NO_DELAY) as gateway:
        raw = await RawCustomer.connect(gateway.ports[0])
        unknown = await raw.call(bind("nobody", PASSWORD))
        wrong = await raw.call(bind("bank", "wrong"))
        assert unknown.command_status == wrong.command_status == S.ESME_RBINDFAIL
        assert gateway.logins.passwords.counts["checked"] == 2  # both cost one scrypt check
        await raw.close()


async def test_operators_may_ask_for_distinct_codes() -> None:
    distinct = SecurityConfig(bind_failure_status="distinct", login_failures_before_delay=100)
    async with running_gateway("memory", [simulator()], security=distinct) as gateway:
        raw = await RawCustomer.connect(gateway.ports[0])
        assert (await raw.call(bind("nobody", PASSWORD))).command_status == S.ESME_RINVSYSID
        assert (await raw.call(bind("bank", "wrong"))).command_status == S.ESME_RINVPASWD
        await raw.close()


async def test_a_guessing_source_is_locked_out_without_costing_checks() -> None:
    async with running_gateway("memory", [simulator()], security=NO_DELAY) as gateway:
        raw = await RawCustomer.connect(gateway.ports[0])
        answers = [await raw.call(bind("bank", f"guess-{i}")) for i in range(12)]
        assert {a.command_status for a in answers} == {S.ESME_RBINDFAIL}
        assert gateway.logins.passwords.counts["checked"] == 4  # then refused unchecked
        right = await raw.call(bind("bank", PASSWORD))
        assert right.command_status == S.ESME_RBINDFAIL  # locked out, the right one too
        assert gateway.binds.count("bank") == 0
        metrics = generate_latest(gateway.registry).decode()
        assert 'smsgw_login_failures_total{channel="smpp",outcome="failed"} 4.0' in metrics
        assert 'smsgw_login_failures_total{channel="smpp",outcome="refused"} 9.0' in metrics
        assert 'smsgw_login_failures_total{channel="smpp",outcome="locked_out"} 2.0' in metrics
        await raw.close()


async def test_binds_sent_together_are_checked_one_at_a_time() -> None:
    async with running_gateway("memory", [simulator()], security=NO_DELAY) as gateway:
        raw = await RawCustomer.connect(gateway.ports[0])
        raw.writer.write(b"".join(raw.encode(bind("bank", f"guess-{i}")) for i in range(3)))
        answers = [await raw.read_pdu() for _ in range(3)]
        assert [a.command_status for a in answers if a is not None] == [S.ESME_RBINDFAIL] * 3
        assert gateway.logins.passwords.counts["checked"] == 1
        assert (await raw.call(bind("bank", PASSWORD))).command_status == S.ESME_ROK
        await raw.close()
