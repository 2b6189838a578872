"""Top-up records on a real PostgreSQL: idempotent by (account, reference), read by period."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from engine.billing.payments import Payment, PaymentMethod, Payments
from engine.billing.periods import month
from tests.services import (  # noqa: F401  (fixtures used by the tests of this module)
    database_url_fixture,
    postgres_database_fixture,
)

DECEMBER = month("2026-12")


def _account() -> str:
    return f"pay-{secrets.token_hex(4)}"


def _payment(account: str, reference: str = "wire-1", **changes: Any) -> Payment:
    fields: dict[str, Any] = {
        "account": account,
        "reference": reference,
        "amount": 50_000_000,
        "currency": "EUR",
        "method": PaymentMethod.BANK_TRANSFER,
        "actor": "admin-api",
        "at": datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
        **changes,
    }
    return Payment(**fields)


@pytest.fixture
async def payments(database_url: str) -> AsyncIterator[Payments]:
    store = Payments(database_url)
    yield store
    await store.close()


async def test_recording_the_same_payment_again_changes_nothing(payments: Payments) -> None:
    account = _account()
    assert await payments.record(_payment(account)) is True
    assert await payments.record(_payment(account, actor="cli:ops")) is False
    assert await payments.of_account(account, DECEMBER) == [_payment(account)]


async def test_the_same_reference_with_another_amount_is_refused(payments: Payments) -> None:
    account = _account()
    await payments.record(_payment(account))
    with pytest.raises(ValueError, match=r"wire-1.*already recorded as 50000000 EUR"):
        await payments.record(_payment(account, amount=60_000_000))
    assert [p.amount for p in await payments.of_account(account, DECEMBER)] == [50_000_000]


async def test_concurrent_records_of_one_payment_store_it_once(payments: Payments) -> None:
    account = _account()
    outcomes = await asyncio.gather(*(payments.record(_payment(account)) for _ in range(4)))
    assert sorted(outcomes) == [False, False, False, True]


async def test_a_period_holds_its_start_not_its_end_and_only_its_account(
    payments: Payments,
) -> None:
    account, other = _account(), _account()
    at_start = _payment(account, "first", at=DECEMBER.start, method=PaymentMethod.CARD)
    before_end = _payment(account, "last", at=DECEMBER.end - timedelta(microseconds=1))
    for payment in (
        before_end,
        at_start,
        _payment(account, "january", at=DECEMBER.end),
        _payment(account, "november", at=DECEMBER.start - timedelta(seconds=1)),
        _payment(other, "first", at=DECEMBER.start),
    ):
        await payments.record(payment)
    assert await payments.of_account(account, DECEMBER) == [at_start, before_end]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"method": "barter"}, "barter"),
        ({"reference": "has space"}, "reference"),
        ({"account": "no/slash"}, "account"),
        ({"actor": ""}, "actor"),
        ({"at": datetime(2026, 12, 3)}, "at"),
    ],
)
def test_a_bad_payment_is_refused_by_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        _payment(**{"account": "acme", **change})


def test_a_payment_decodes_from_json_with_its_method_checked() -> None:
    raw = msgspec.json.encode(_payment("acme"))
    assert msgspec.json.decode(raw, type=Payment) == _payment("acme")
    with pytest.raises(msgspec.ValidationError, match="method"):
        msgspec.json.decode(raw.replace(b"bank_transfer", b"barter"), type=Payment)
