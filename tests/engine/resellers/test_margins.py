"""The reseller's monthly margin from PostgreSQL: (price - reseller's price)
x parts of its sub-accounts' charged messages, credited once per month."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from engine.billing.periods import month
from engine.resellers.margins import MarginOutcome, MarginSettlement
from ledger.memory import MemoryLedger
from ledger.model import AccountLimits
from tests.services import (  # noqa: F401  (fixtures used by the tests of this module)
    database_url_fixture,
    postgres_database_fixture,
)

NOVEMBER = month("2026-11")
AFTER = datetime(2026, 12, 2, tzinfo=UTC)
_positions = itertools.count(1)


class Traffic:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def message(
        self, account: str, *, day: int, parts: int, price: int, listed: int,
        charged: int | None = None, held: int | None = None, month_number: int = 11,
    ) -> None:  # fmt: skip
        """A message as the persister writes it (sql/0004, 0005)."""
        at = datetime(2026, month_number, day, 10, tzinfo=UTC)
        await self.connection.execute(
            "SELECT smsgw_ensure_day_partitions('messages', $1::timestamptz[])", [at]
        )
        position = next(_positions)
        await self.connection.execute(
            """
            INSERT INTO messages (message_id, account, state, parts, held, charged, destination,
                                  price_per_part, accepted_at, updated_at, created_at, bucket,
                                  stream_ms, stream_seq, currency, list_price, list_currency,
                                  exchange_rate)
            VALUES ($1, $2, 'delivered', $3, $4, $5, '33612345678', $6, $7, $7, $7, 0, $8, 0,
                    'EUR', $9, 'EUR', '1')
            """,
            f"m{position}", account, parts, held if held is not None else price * parts,
            charged, price, at, position, listed,
        )  # fmt: skip


@pytest.fixture
async def traffic(database_url: str) -> AsyncIterator[Traffic]:
    connection = await asyncpg.connect(database_url)
    yield Traffic(connection)
    await connection.close()


@pytest.fixture
async def settlement(database_url: str) -> AsyncIterator[MarginSettlement]:
    ledger = MemoryLedger()
    await ledger.start()
    await ledger.set_account("agency", AccountLimits())
    settlement = MarginSettlement(database_url, ledger)
    yield settlement
    await settlement.close()


async def balance(settlement: MarginSettlement) -> int:
    state = await settlement.ledger.get_account("agency")
    assert state is not None
    return state.balance


async def test_the_margin_is_credited_once_per_month(
    traffic: Traffic, settlement: MarginSettlement
) -> None:
    await traffic.message("shop", day=3, parts=2, price=50_000, listed=40_000, charged=100_000)
    await traffic.message("kiosk", day=9, parts=1, price=33_751, listed=27_001, charged=33_751)
    await traffic.message("shop", day=9, parts=3, price=50_000, listed=40_000, charged=0)
    await traffic.message("shop", day=1, parts=1, price=50_000, listed=40_000, charged=50_000,
                          month_number=10)  # fmt: skip
    await traffic.message("other", day=5, parts=1, price=90_000, listed=1, charged=90_000)
    line = await settlement.settle("agency", ["shop", "kiosk"], NOVEMBER, AFTER)
    assert (line.outcome, line.amount) == (MarginOutcome.CREDITED, 20_000 + 6_750)
    assert await balance(settlement) == 26_750
    again = await settlement.settle("agency", ["shop", "kiosk"], NOVEMBER, AFTER)
    assert again.outcome is MarginOutcome.ALREADY_CREDITED
    assert await balance(settlement) == 26_750


async def test_an_open_month_or_open_messages_credit_nothing(
    traffic: Traffic, settlement: MarginSettlement
) -> None:
    await traffic.message("shop", day=3, parts=1, price=50_000, listed=40_000, charged=50_000)
    early = await settlement.settle(
        "agency", ["shop"], NOVEMBER, datetime(2026, 11, 30, tzinfo=UTC)
    )
    assert early.outcome is MarginOutcome.MONTH_NOT_OVER
    await traffic.message("shop", day=4, parts=1, price=50_000, listed=40_000)  # held, open
    held = await settlement.settle("agency", ["shop"], NOVEMBER, AFTER)
    assert (held.outcome, held.open_messages) == (MarginOutcome.NOT_FINAL, 1)
    assert await balance(settlement) == 0
    empty = await settlement.settle("agency", [], NOVEMBER, AFTER)
    assert empty.outcome is MarginOutcome.NOTHING


async def test_a_message_shortened_by_replace_sm_earns_on_its_charged_parts(
    traffic: Traffic, settlement: MarginSettlement
) -> None:
    # Sent as 3 parts, replaced by 2: the row keeps 3, the capture is for 2.
    await traffic.message("shop", day=3, parts=3, price=50_000, listed=40_000, charged=100_000)
    line = await settlement.settle("agency", ["shop"], NOVEMBER, AFTER)
    assert (line.outcome, line.amount) == (MarginOutcome.CREDITED, 2 * 10_000)


async def test_a_month_the_persister_has_not_written_yet_credits_nothing(
    traffic: Traffic, settlement: MarginSettlement
) -> None:
    await traffic.message("shop", day=3, parts=1, price=50_000, listed=40_000, charged=50_000)
    through = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)

    async def persisted() -> datetime:
        return through

    lagging = MarginSettlement(settlement.database, settlement.ledger, persisted)
    line = await lagging.settle("agency", ["shop"], NOVEMBER, AFTER)
    assert line.outcome is MarginOutcome.NOT_PERSISTED
    assert await balance(settlement) == 0
    through = NOVEMBER.end
    assert (await lagging.settle("agency", ["shop"], NOVEMBER, AFTER)).outcome is (
        MarginOutcome.CREDITED
    )
    assert await balance(settlement) == 10_000
