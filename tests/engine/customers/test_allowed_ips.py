"""IP allow-lists: the entries' rules, the address test, and binds over real
sockets refused from outside the list like a bad password, and logged."""

from __future__ import annotations

import msgspec
import pytest
from structlog.testing import capture_logs

from engine.admin.administration import Administration
from engine.admin.views import AccountChanges, AdminRefused
from engine.customers.accounts import AccountConfig
from engine.customers.allowed_ips import check_allowed_ips, ip_allowed
from engine.customers.api_keys import MemoryApiKeyStore
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from tests.engine.gateway_harness import PASSWORD, account, running_gateway, simulator
from tests.engine.peers import RawCustomer


def bind(system_id: str = "bank") -> p.BindTransceiver:
    return p.BindTransceiver(system_id=system_id, password=PASSWORD)


def test_entries_are_checked_and_made_canonical() -> None:
    assert check_allowed_ips([" 10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "10.0.0.0/8"]) == (
        "10.0.0.0/8",
        "192.0.2.7/32",
        "2001:db8::/32",
    )


@pytest.mark.parametrize("bad", ["10.0.0.1/8", "10.0.0.0/33", "example.com", "", "1.2.3"])
def test_bad_entries_are_refused_naming_them(bad: str) -> None:
    with pytest.raises(ValueError, match=repr(bad.strip())):
        check_allowed_ips(["192.0.2.1", bad])


def test_account_config_refuses_a_bad_entry() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"10\.0\.0\.1/8"):
        msgspec.convert(
            {"id": "a", "password_hash": "", "allowed_ips": ["10.0.0.1/8"]}, AccountConfig
        )


@pytest.mark.parametrize(
    ("allowed", "address", "expected"),
    [
        ((), "203.0.113.9", True),
        (("10.0.0.0/8",), "10.1.2.3", True),
        (("10.0.0.0/8",), "11.1.2.3", False),
        (("192.0.2.7/32",), "::ffff:192.0.2.7", True),
        (("2001:db8::/32",), "2001:db8::1", True),
        (("2001:db8::/32",), "2001:db9::1", False),
        (("10.0.0.0/8",), "", False),
        (("10.0.0.0/8",), "not an address", False),
    ],
)
def test_ip_allowed(allowed: tuple[str, ...], address: str, expected: bool) -> None:
    assert ip_allowed(allowed, address) is expected


async def test_a_bind_from_outside_the_list_is_refused_and_logged() -> None:
    elsewhere = account("bank", allowed_ips=("192.0.2.0/24",))
    async with running_gateway("memory", [simulator()], accounts=(elsewhere,)) as gateway:
        raw = await RawCustomer.connect(gateway.ports[0])
        with capture_logs() as logs:
            answer = await raw.call(bind())
        assert answer.command_status == S.ESME_RBINDFAIL
        assert gateway.binds.count("bank") == 0
        refused = [entry for entry in logs if entry["event"] == "bind refused: address not allowed"]
        assert refused and refused[0]["account"] == "bank" and refused[0]["peer"] == "127.0.0.1"
        await raw.close()


async def test_a_bind_from_the_list_is_accepted() -> None:
    local = account("bank", allowed_ips=("192.0.2.0/24", "127.0.0.0/8"))
    async with running_gateway("memory", [simulator()], accounts=(local,)) as gateway:
        raw = await RawCustomer.connect(gateway.ports[0])
        assert (await raw.call(bind())).command_status == S.ESME_ROK
        assert gateway.binds.count("bank") == 1
        await raw.close()


async def test_the_admin_sets_the_list_and_the_next_bind_obeys_it() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        admin = Administration(gateway, MemoryApiKeyStore())
        view = await admin.update_account("bank", AccountChanges(allowed_ips=["192.0.2.0/24"]))
        assert view.allowed_ips == ["192.0.2.0/24"]
        raw = await RawCustomer.connect(gateway.ports[0])
        assert (await raw.call(bind())).command_status == S.ESME_RBINDFAIL
        await admin.update_account("bank", AccountChanges(allowed_ips=[]))
        assert (await raw.call(bind())).command_status == S.ESME_ROK
        await raw.close()


async def test_the_admin_refuses_a_bad_entry_and_changes_nothing() -> None:
    async with running_gateway("memory", [simulator()]) as gateway:
        admin = Administration(gateway, MemoryApiKeyStore())
        before = gateway.accounts["bank"]
        with pytest.raises(AdminRefused) as refused:
            await admin.update_account(
                "bank", AccountChanges(allowed_ips=["10.0.0.1/8"], throughput=5)
            )
        assert refused.value.code == "invalid_allowed_ips"
        assert gateway.accounts["bank"] is before
        state = await gateway.ledger.get_account("bank")
        assert state is not None and state.limits.throughput == before.throughput
