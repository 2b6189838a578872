"""The admin commands (`smsgw accounts|credit|keys|connectors`) against a
running shard's admin API, the audit log they leave, and the commands that
read the stores directly (`messages show`, `audit`, the ledger's)."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from redis.asyncio import Redis

from engine.admin.audit import API_ACTOR, AuditLog, acting_as
from engine.config import GatewayConfig, load_config
from engine.customers.api_keys import key_digest
from ledger.config import LedgerConfig
from ledger.events import MessageEvent, MessageState
from ledger.redis_ledger import RedisLedger
from smsgw.admin_client import admin_url, cli_actor
from smsgw.admin_commands import run_admin
from smsgw.cli import build_parser, main
from smsgw.ledger_commands import ledger_config
from tests.api.harness import Api
from tests.api.test_admin import ADMIN, ADMIN_KEY, admin_api, until
from tests.engine.gateway_harness import CREDIT
from tests.ledger.helpers import BUCKETS, persister
from tests.services import (  # noqa: F401  (fixtures used by the tests of this module)
    REDIS_URL,
    namespace_fixture,
    redis_client_fixture,
)


@pytest.fixture(autouse=True)
def quiet_logs() -> Iterator[None]:
    """The shard runs in this process: its log lines must not mix with what
    the commands print."""
    saved = structlog.get_config()
    structlog.configure(logger_factory=structlog.ReturnLoggerFactory())
    yield
    structlog.configure(**saved)


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    """A shard whose admin key the commands find in $SMSGW_ADMIN_KEY."""
    monkeypatch.setenv("SMSGW_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.delenv("SMSGW_CONFIG", raising=False)
    async with admin_api() as running:
        yield running


async def smsgw(api: Api, *argv: str) -> int:
    """One admin command, parsed as the command line parses it, on ``api``'s app."""
    args = build_parser().parse_args([*argv, "--url", "http://smsgw.test"])
    return await run_admin(args, httpx.ASGITransport(app=api.app))


async def run_json(api: Api, capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    capsys.readouterr()
    assert await smsgw(api, *argv, "--json") == 0
    return json.loads(capsys.readouterr().out)


async def test_accounts_are_created_listed_shown_disabled_and_enabled(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    created = ["accounts", "create", "cafe", "--group", "retail", "--credit-limit", "500"]
    assert await smsgw(api, *created, "--smpp-password") == 0
    out = capsys.readouterr().out
    assert "shown once" in out and "retail" in out
    assert api.engine.gateway.accounts["cafe"].password_hash

    assert await smsgw(api, "accounts", "list") == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["ID", "ENABLED", "GROUPS"]
    assert sorted(row.split()[0] for row in rows) == ["bank", "cafe", "shop"]

    shown = await run_json(api, capsys, "accounts", "show", "cafe")
    assert shown["account"]["credit_limit"] == 500  # type: ignore[index]
    assert shown["balance"]["balance"] == 0  # type: ignore[index]

    assert await smsgw(api, "accounts", "disable", "cafe") == 0
    assert capsys.readouterr().out == "cafe: disabled\n"
    state = await api.engine.gateway.ledger.get_account("cafe")
    assert state is not None and not state.limits.enabled
    assert await smsgw(api, "accounts", "enable", "cafe") == 0
    assert capsys.readouterr().out == "cafe: enabled\n"


async def test_topup_and_adjust_show_the_new_balance_in_integers(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    topup = ["credit", "topup", "bank", "2500000", "--reason", "invoice 42"]
    assert await smsgw(api, *topup, "--reference", "inv-42") == 0
    out = capsys.readouterr().out
    assert f"balance    {CREDIT + 2_500_000}" in out and "outcome    ok" in out
    assert await smsgw(api, *topup, "--reference", "inv-42") == 0
    assert "duplicate" in capsys.readouterr().out

    debit = ["credit", "adjust", "bank", "-500000", "--reason", "refund", "--reference", "r-1"]
    answer = await run_json(api, capsys, *debit)
    assert answer["balance"] == CREDIT + 2_000_000  # type: ignore[index]
    balance = await run_json(api, capsys, "credit", "balance", "bank")
    assert balance["available"] == CREDIT + 2_000_000  # type: ignore[index]


@pytest.mark.parametrize(
    ("argv", "status", "error"),
    [
        (["credit", "topup", "bank", "1.5"], 2, "AMOUNT is an integer of minor units"),
        (["credit", "topup", "bank", "-5"], 2, "AMOUNT must be greater than 0"),
        (["credit", "adjust", "bank", "0"], 2, "AMOUNT must be not 0"),
        (["credit", "topup", "nobody", "5"], 1, "unknown_account: no account 'nobody'"),
        (["credit", "adjust", "bank", f"-{CREDIT + 1}"], 1, "no_credit"),
    ],
)
async def test_bad_credit_input_is_one_line_and_changes_nothing(
    api: Api, capsys: pytest.CaptureFixture[str], argv: list[str], status: int, error: str
) -> None:
    assert await smsgw(api, *argv, "--reason", "r", "--reference", "ref-1") == status
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"smsgw credit {argv[1]}: ") and error in captured.err
    assert captured.err.count("\n") == 1
    balance = await api.engine.balance("bank")
    assert balance is not None and balance.balance == CREDIT


async def test_keys_are_issued_listed_and_revoked(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = await run_json(api, capsys, "keys", "issue", "bank", "--label", "shop front")
    key, key_id = issued["key"], issued["key_id"]  # type: ignore[index]
    assert (await api.engine.account_for_key(key)).id == "bank"  # type: ignore[union-attr]
    assert await smsgw(api, "keys", "list", "bank") == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if key_id in line]
    assert "shop front" in row and row.endswith("active")
    assert key not in row
    assert await smsgw(api, "keys", "revoke", "bank", key_id) == 0
    assert await api.engine.api_keys.get(key_id) is not None
    assert await smsgw(api, "keys", "revoke", "bank", key_id) == 1
    assert "unknown_key" in capsys.readouterr().err


async def test_connectors_are_listed_disabled_and_enabled(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    await until(lambda: "op-0" in api.engine.live_connectors())
    [listed] = await run_json(api, capsys, "connectors", "list")  # type: ignore[misc]
    assert (listed["id"], listed["running"]) == ("op-0", True)
    assert await smsgw(api, "connectors", "disable", "op-0") == 0
    assert capsys.readouterr().out.startswith("op-0: stopped on http://smsgw.test")
    assert "op-0" in api.engine.admin._connectors.stopped
    assert await smsgw(api, "connectors", "enable", "op-0") == 0
    assert capsys.readouterr().out.startswith("op-0: running")
    assert await smsgw(api, "connectors", "disable", "op-9") == 1
    assert "unknown_connector" in capsys.readouterr().err


async def test_every_change_is_audited_with_its_actor(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    await smsgw(api, "accounts", "create", "cafe", "--smpp-password")
    adjust = ["credit", "adjust", "cafe", "700", "--reason", "gift", "--reference", "g-1"]
    await smsgw(api, *adjust)
    await smsgw(api, "keys", "issue", "cafe")
    await smsgw(api, "accounts", "disable", "cafe")
    await smsgw(api, "credit", "topup", "nobody", "5", "--reason", "r", "--reference", "x")
    headers = {**ADMIN, "X-Smsgw-Actor": "somebody else"}
    await api.client.patch("/admin/accounts/cafe", json={"enabled": True}, headers=headers)

    entries = list(reversed(await api.engine.admin.audit.recent(6)))
    assert [(e.actor, e.action, e.target) for e in entries] == [
        (cli_actor(), "account.create", "cafe"),
        (cli_actor(), "account.password", "cafe"),
        (cli_actor(), "credit.adjust", "cafe"),
        (cli_actor(), "api_key.issue", "cafe"),
        (cli_actor(), "account.update", "cafe"),
        (API_ACTOR, "account.update", "cafe"),
    ]
    assert entries[2].detail == {
        "amount": 700,
        "reason": "gift",
        "reference": "g-1",
        "outcome": "ok",
        "balance": 700,
    }
    assert entries[4].detail == {"enabled": False}
    assert cli_actor().startswith("cli:")


async def test_the_audit_stream_is_shared_and_read_by_smsgw_audit(
    redis_client: Redis, namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = AuditLog(namespace, redis_client, length=100)
    with acting_as("cli:alice"):
        await log.record("credit.adjust", "bank", amount=5, reference="a b")
    await log.record("connector.stop", "op-0")
    config = tmp_path / "smsgw.toml"
    config.write_text(f'[ledger]\nnamespace = "{namespace}"\n')
    command = ["audit", "--config", str(config), "--redis-url", REDIS_URL]

    assert await _in_thread(command) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["AT", "ACTOR", "ACTION", "TARGET", "DETAIL"]
    assert lines[1].split()[1:] == [
        "cli:alice",
        "credit.adjust",
        "bank",
        "amount=5",
        "reference=a",
        "b",
    ]
    assert lines[2].split()[1:] == ["system", "connector.stop", "op-0"]
    assert await _in_thread([*command, "--json", "--limit", "1"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["action"] == "connector.stop"


async def test_the_audit_stream_is_capped(redis_client: Redis, namespace: str) -> None:
    log = AuditLog(namespace, redis_client, length=3)
    for n in range(500):
        await log.record("credit.adjust", f"acct-{n}")
    assert await redis_client.xlen(log.stream) < 500  # trimmed near the cap (MAXLEN ~)
    assert [e.target for e in await log.recent(2)] == ["acct-499", "acct-498"]


async def _in_thread(argv: list[str]) -> int:
    """`main` runs its own event loop: off this test's loop."""
    return await asyncio.to_thread(main, argv)


async def test_messages_show_reads_the_history_from_postgresql(
    redis_client: Redis, namespace: str, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = RedisLedger(redis_client, LedgerConfig(namespace=namespace, buckets=BUCKETS))
    worker, store = persister(redis_client, database_url, namespace)
    at = 1_767_225_600_000
    events = [
        MessageEvent(
            message_id="m-cli-1",
            account="acme",
            state=MessageState.ACCEPTED,
            ts_ms=at,
            parts=1,
            destination="+41790000001",
            source="ACME",
            price_per_part=35_000,
        ),
        MessageEvent(
            message_id="m-cli-1",
            account="acme",
            state=MessageState.DELIVERED,
            ts_ms=at + 900,
            connector="op-a",
        ),
    ]
    try:
        await ledger.append_message_events(events)
        await worker.drain()
    finally:
        await store.close()
    command = ["messages", "show", "m-cli-1", "--database-url", database_url]
    assert await _in_thread(command) == 0
    out = capsys.readouterr().out
    assert "account              acme" in out and "state                delivered" in out
    assert "2026-01-01T00:00:00Z  accepted" in out and "delivered  op-a" in out
    assert await _in_thread([*command, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["events"]) == 2
    assert await _in_thread(["messages", "show", "m-none", "--database-url", database_url]) == 1
    assert capsys.readouterr().err == "smsgw messages show: no message 'm-none' in the history\n"


def test_the_shard_is_the_one_the_config_names() -> None:
    args = argparse.Namespace(url=None)
    config = load_config('[api]\nhost = "0.0.0.0"\nport = 8181\n')
    assert admin_url(args, config) == "http://127.0.0.1:8181"
    assert admin_url(args, load_config('[api]\nhost = "::1"\nport = 81\n')) == "http://[::1]:81"
    assert admin_url(argparse.Namespace(url="http://h:1/"), config) == "http://h:1"


def test_the_ledger_commands_take_the_config_files_namespace(tmp_path: Path) -> None:
    config = tmp_path / "shard.toml"
    config.write_text('[ledger]\nnamespace = "prod-eu"\nbuckets = 128\n')
    parser = build_parser()
    args = parser.parse_args(["ledger", "reconcile", "--config", str(config)])
    assert (ledger_config(args).namespace, ledger_config(args).buckets) == ("prod-eu", 128)
    args = parser.parse_args(["ledger", "reconcile", "--config", str(config), "--namespace", "x"])
    assert (ledger_config(args).namespace, ledger_config(args).buckets) == ("x", 128)
    assert GatewayConfig().ledger.namespace == "smsgw"


def test_a_missing_config_or_admin_key_is_one_line(tmp_path: Path) -> None:
    smsgw = [sys.executable, "-m", "smsgw.cli"]
    env = {"PATH": "/usr/bin:/bin", "SMSGW_CONFIG": str(tmp_path / "none.toml")}
    run = subprocess.run([*smsgw, "accounts", "list"], capture_output=True, text=True, env=env)
    assert run.returncode == 2
    assert run.stderr.startswith("smsgw accounts list: ") and run.stderr.count("\n") == 1
    env = {"PATH": "/usr/bin:/bin"}
    listing = [*smsgw, "accounts", "list", "--url", "http://127.0.0.1:9"]
    run = subprocess.run(listing, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert (run.returncode, run.stderr) == (
        2,
        "smsgw accounts list: no admin key: set SMSGW_ADMIN_KEY or pass --admin-key-file\n",
    )


def test_hash_admin_key_gives_the_configs_hash() -> None:
    smsgw = [sys.executable, "-m", "smsgw.cli", "hash-admin-key"]
    hashed = subprocess.run(smsgw, input=f"{ADMIN_KEY}\n", capture_output=True, text=True)
    assert hashed.stdout == f"{key_digest(ADMIN_KEY)}\n"
    short = subprocess.run(smsgw, input="short\n", capture_output=True, text=True)
    assert short.returncode == 2 and "16 characters" in short.stderr
    generated = subprocess.run([*smsgw, "--generate"], capture_output=True, text=True, check=True)
    key_line, hash_line = generated.stdout.splitlines()
    key = key_line.rsplit(" ", 1)[1]
    assert hash_line == f'admin_key_hash = "{key_digest(key)}"  # in [api]'


async def test_rates_are_imported_from_csv_and_a_bad_row_sends_nothing(
    api: Api, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = tmp_path / "rates.csv"
    good.write_text("base,quote,rate,valid_from\nEUR,UZS,12850.5,2026-12-01\n")
    assert await smsgw(api, "billing", "rates", "import", str(good)) == 0
    assert "1 added, 0 already there" in capsys.readouterr().out
    listed = await run_json(api, capsys, "billing", "rates", "list")
    assert [(r["base"], r["quote"], r["rate"]) for r in listed["rates"]] == [  # type: ignore[index]
        ("EUR", "UZS", "12850.5")
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("base,quote,rate,valid_from\nEUR,XXX,-1,2026-12-02\n")
    assert await smsgw(api, "billing", "rates", "import", str(bad)) == 2
    error = capsys.readouterr().err
    assert "line 2: quote: unknown currency 'XXX'" in error and "line 2: rate:" in error
    assert len(api.engine.billing.rates.records()) == 1
