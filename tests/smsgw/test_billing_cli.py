"""`smsgw billing`: a month that reconciles exits 0, a bad month exits 2 with its form."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import asyncpg
from redis.asyncio import Redis

from engine.billing.rate_store import RedisRateStore
from engine.billing.rates import ExchangeRate
from tests.engine.billing.billing_rows import BillingRows
from tests.services import (  # noqa: F401  (fixtures)
    REDIS_URL,
    database_url_fixture,
    delete_namespace,
    postgres_database_fixture,
    random_namespace,
)

SMSGW = [sys.executable, "-m", "smsgw.cli", "billing"]


def test_reconcile_of_a_quiet_month_agrees_and_cdrs_are_a_header(database_url: str) -> None:
    run = subprocess.run(
        [*SMSGW, "reconcile", "--month", "2031-07", "--database-url", database_url],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    cdrs = subprocess.run(
        [*SMSGW, "cdrs", "--month", "2031-07", "--database-url", database_url],
        capture_output=True,
        text=True,
    )
    assert cdrs.returncode == 0 and cdrs.stdout.startswith("message_id,part,")
    assert "0 CDR(s) of 2031-07" in cdrs.stderr


def test_a_bad_month_is_refused_with_the_expected_form() -> None:
    run = subprocess.run(
        [*SMSGW, "reconcile", "--month", "2031-13"], capture_output=True, text=True
    )
    assert run.returncode == 2 and "YYYY-MM" in run.stderr


async def test_cdrs_carry_margins_in_a_reporting_currency_from_the_rates_in_redis(
    tmp_path: Path, database_url: str
) -> None:
    namespace = random_namespace()
    config = tmp_path / "smsgw.toml"
    config.write_text(f'[ledger]\nnamespace = "{namespace}"\n')
    redis = Redis.from_url(REDIS_URL)
    connection = await asyncpg.connect(database_url)
    try:
        since = datetime(2031, 8, 1, tzinfo=UTC)
        rate = ExchangeRate(base="EUR", quote="UZS", rate="12850.5", valid_from=since)
        await RedisRateStore(redis, namespace).add([rate])
        account = f"cli-{namespace[-8:]}"
        accepted = datetime(2031, 8, 3, tzinfo=UTC)
        await BillingRows(connection).message(
            account, f"{account}-1", accepted_at=accepted, parts=1, held=50_000, charged=50_000
        )
        run = subprocess.run(
            [*SMSGW, "cdrs", "--month", "2031-08", "--account", account, "--format", "jsonl",
             "--reporting-currency", "UZS", "--config", str(config),
             "--database-url", database_url, "--redis-url", REDIS_URL],
            capture_output=True, text=True,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        [record] = [json.loads(line) for line in run.stdout.splitlines()]
        assert record["reporting_currency"] == "UZS"
        assert record["sell_reporting"] == round(Fraction(50_000) * Fraction("12850.5"))
    finally:
        await connection.close()
        await delete_namespace(redis, namespace)
        await redis.aclose()
