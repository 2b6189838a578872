"""The registry's requests and decisions, and each shard's approved sets."""

from __future__ import annotations

import pytest

from engine.admin.audit import acting_as
from engine.senders.model import InvalidSender, SenderId
from engine.senders.service import SenderRefused, SenderRegistry
from engine.senders.store import MemorySenderStore


@pytest.fixture
def registry() -> SenderRegistry:
    return SenderRegistry(MemorySenderStore(), "t1", "test")


async def test_a_requested_sender_passes_once_approved(registry: SenderRegistry) -> None:
    asked = await registry.request("bank", "MyBank", "our brand", by="console:amy")
    assert (asked.state, asked.note, asked.requested_by) == (
        "requested",
        "our brand",
        "console:amy",
    )
    assert not registry.is_approved("bank", "MyBank")
    with acting_as("console:root"):
        approved = await registry.approve("bank", "MyBank")
    assert (approved.state, approved.decided_by, approved.note) == (
        "approved",
        "console:root",
        "our brand",
    )
    assert approved.requested_at == asked.requested_at and approved.decided_at > 0
    assert registry.is_approved("bank", "MyBank")
    assert not registry.is_approved("bank", "MYBANK")  # case as given
    assert not registry.is_approved("shop", "MyBank")
    assert registry.approved_of("bank") == ["MyBank"]


async def test_a_rejection_needs_a_reason_and_withdraws_an_approval(
    registry: SenderRegistry,
) -> None:
    await registry.approve("bank", "+4915112345678", by="admin")
    assert registry.is_approved("bank", "4915112345678")
    assert registry.is_approved("bank", "+4915112345678")
    with pytest.raises(SenderRefused) as caught:
        await registry.reject("bank", "4915112345678", "  ")
    assert caught.value.code == "reason_required"
    rejected = await registry.reject("bank", "4915112345678", "not your number", by="admin")
    assert (rejected.state, rejected.reason) == ("rejected", "not your number")
    assert not registry.is_approved("bank", "4915112345678")
    assert registry.approved_of("bank") == []
    with pytest.raises(SenderRefused) as caught:
        await registry.reject("bank", "Other", "no")
    assert caught.value.code == "unknown_sender"


async def test_a_sender_is_asked_for_once_until_rejected(registry: SenderRegistry) -> None:
    await registry.request("bank", "MyBank")
    with pytest.raises(SenderRefused) as caught:
        await registry.request("bank", "MyBank")
    assert caught.value.code == "sender_requested"
    await registry.reject("bank", "MyBank", "brand not shown", by="admin")
    again = await registry.request("bank", "MyBank", "here is the trademark")
    assert (again.state, again.reason) == ("requested", "")
    await registry.approve("bank", "MyBank")
    with pytest.raises(SenderRefused) as caught:
        await registry.request("bank", "MyBank")
    assert caught.value.code == "sender_approved"


async def test_bad_input_changes_nothing(registry: SenderRegistry) -> None:
    with pytest.raises(InvalidSender, match="sender: an alphanumeric sender has at most 11"):
        await registry.request("bank", "MuchTooLongName")
    with pytest.raises(SenderRefused) as caught:
        await registry.request("bank", "MyBank", "line\nbreak")
    assert caught.value.code == "invalid_note"
    with pytest.raises(SenderRefused) as caught:
        await registry.request("bank", "MyBank", "x" * 501)
    assert caught.value.code == "invalid_note"
    assert await registry.entries() == []


async def test_lists_show_the_queue_first_oldest_first_and_filter(
    registry: SenderRegistry,
) -> None:
    for account, sender, state, at in [
        ("bank", "Old", "approved", 1),
        ("bank", "BankB", "requested", 3),
        ("shop", "ShopA", "requested", 2),
        ("bank", "Gone", "rejected", 0),
    ]:
        await registry.store.put(
            SenderId(account=account, sender=sender, state=state, requested_at=at)  # type: ignore[arg-type]
        )
    listed = [(e.state, e.account, e.sender) for e in await registry.entries()]
    assert listed == [
        ("requested", "shop", "ShopA"),
        ("requested", "bank", "BankB"),
        ("approved", "bank", "Old"),
        ("rejected", "bank", "Gone"),
    ]
    assert [e.sender for e in await registry.entries("requested", "bank")] == ["BankB"]
    assert [e.sender for e in await registry.entries(account="shop")] == ["ShopA"]


async def test_a_shard_reads_the_approved_senders_at_start(registry: SenderRegistry) -> None:
    await registry.approve("bank", "MyBank")
    await registry.request("bank", "Waiting")
    late = SenderRegistry(registry.store, "t2", "test")
    await late.load()
    assert late.approved == {"bank": frozenset({"MyBank"})}
