"""`smsgw dev`: the whole gateway embedded, for trying it and for tests.

The in-memory ledger twin, an in-memory receipt map and the simulated operator
(`bench.smsc_sim`, in its own process) stand in for Redis, PostgreSQL and a
real SMSC. A demo account is created with credit and its credentials printed.
Nothing is durable: stopping the process forgets every message and balance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
import time

from api.console import install_console
from engine.config import GatewayConfig, ListenerConfig
from engine.console import ConsoleUsers, MemoryConsoleUserStore
from engine.console.dashboard_sampler import DashboardSampler
from engine.customers.accounts import AccountConfig
from engine.customers.api_keys import MemoryApiKeyStore
from engine.customers.login_guard import SecurityConfig
from engine.customers.passwords import hash_password
from engine.facade import Engine
from engine.gateway import Gateway
from engine.message_templates import MemoryTemplateStore, MessageTemplates, TemplatesConfig
from engine.messages.receipt_map import MemoryReceiptMap
from engine.operators.connector_config import ConnectorConfig
from engine.optout.install import install_optout
from engine.optout.store import MemoryOptOutStore
from engine.resellers.service import Resellers
from engine.senders.install import install_senders
from engine.senders.service import SenderRegistry
from engine.senders.store import MemorySenderStore
from engine.sending import SendItem
from engine.verify.codes import CodeHasher
from engine.verify.send_limits import MemorySendLimiter, SendLimits
from engine.verify.service import VerifyService
from engine.verify.store import MemoryVerificationStore
from engine.webhooks import WebhookLimits
from ledger.memory import MemoryLedger
from ledger.memory_messages import MemoryMessageStore
from ledger.usage import ListedUsageQuery
from router import load_data

DEMO_ACCOUNT = "demo"
DEMO_CREDIT = 100_000_000
"""100 EUR in micro-units: 2,500 messages at the demo price."""
DEMO_PRICE = 40_000
DEMO_SENDER = "Demo"
"""The demo account's approved sender: its unapproved ones are rewritten to it."""
DEMO_RESELLER = "reseller"
DEMO_SUB_ACCOUNT = "shop"
DEMO_RESELLER_CREDIT = 50_000_000
"""50 EUR for the demo reseller to move down to its sub-account."""

DEMO_TRAFFIC = 30
"""Messages the demo account sends at start, so the console's pages are not empty."""
DEMO_SCHEDULED = 4
"""Of them, scheduled an hour ahead (still waiting); the others are delivered."""

DEMO_ROUTING = {
    "currency": "EUR",
    "connectors": {"simulator": {"cost_tariff": "simulator-cost"}},
    "tariffs": {
        "demo": {"rates": [{"prefix": "", "price": DEMO_PRICE}]},
        "simulator-cost": {"rates": [{"prefix": "", "price": 10_000}]},
    },
    "mt_routes": [
        {
            "id": "everything",
            "sell_tariff": "demo",
            "target": {"kind": "static", "connector": "simulator"},
        }
    ],
    "mo_routes": [{"id": "to-demo", "target": {"kind": "static", "account": DEMO_ACCOUNT}}],
}


class SimulatorProcess:
    """The simulated operator as a child process; its first line says its port."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0

    async def start(self, receipt_delay_ms: int = 200) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.smsc_sim",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--receipt-delay-ms",
            str(receipt_delay_ms),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the simulated operator did not start")
        self.port = int(json.loads(line)["port"])

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


def dev_config(host: str, port: int, operator_port: int, password: str) -> GatewayConfig:
    return GatewayConfig(
        shard="dev",
        listeners=(ListenerConfig(host=host, port=port),),
        accounts=(
            AccountConfig(
                id=DEMO_ACCOUNT,
                password_hash=hash_password(password, log2_n=12),
                window=50,
                sender_policy="rewrite",
                default_sender=DEMO_SENDER,
            ),
            AccountConfig(id=DEMO_RESELLER, password_hash="", reseller=True),
            AccountConfig(id=DEMO_SUB_ACCOUNT, password_hash="", parent=DEMO_RESELLER, markup=2500),
        ),
        connectors=(
            ConnectorConfig(
                id="simulator",
                host="127.0.0.1",
                port=operator_port,
                system_id="smsgw",
                password="sim",
            ),
        ),
        routing=load_data(DEMO_ROUTING),
        # Webhook receivers of a developer's machine are local.
        webhooks=WebhookLimits(private_networks=True),
        # One developer on loopback, trying keys and passwords: no login
        # delays or lockouts (serve keeps them; docs/security.md).
        security=SecurityConfig(login_delay=0.0, login_failures_before_lockout=1_000_000),
    )


async def start_dev(
    host: str, port: int, password: str | None = None
) -> tuple[Gateway, SimulatorProcess, str, MemoryMessageStore]:
    """Start the simulator and the embedded gateway; returns them, the demo
    password and the message history the embedded ledger feeds."""
    password = password or secrets.token_hex(4)
    simulator = SimulatorProcess()
    await simulator.start()
    store = MemoryMessageStore()
    ledger = MemoryLedger(shard="dev", tap=store.apply)
    gateway = Gateway(
        dev_config(host, port, simulator.port, password),
        ledger,
        MemoryReceiptMap(ttl=86_400),
        history=store,
    )
    try:
        await gateway.start()
        await ledger.adjust(
            DEMO_ACCOUNT, DEMO_CREDIT, reason="demo credit", reference="dev-demo-credit"
        )
        await ledger.adjust(
            DEMO_RESELLER,
            DEMO_RESELLER_CREDIT,
            reason="demo credit",
            reference="dev-reseller-credit",
        )
    except BaseException:
        await simulator.stop()
        raise
    return gateway, simulator, password, store


async def dev_engine(gateway: Gateway, history: MemoryMessageStore) -> tuple[Engine, str]:
    """The facade the HTTP front serves, and the demo account's API key. Its
    opt-out lists start empty, so they go on now, with the gateway running."""
    engine = Engine(gateway, MemoryApiKeyStore(), history)
    settings = gateway.config.verify
    engine.protection.optout = await install_optout(
        gateway, MemoryOptOutStore(), gateway.config.optout
    )
    engine.verify = VerifyService(
        engine,
        MemoryVerificationStore(),
        MemorySendLimiter(SendLimits.of(settings)),
        settings,
        CodeHasher(),
    )
    engine.platform.resellers = Resellers(engine.admin)
    engine.platform.templates = await dev_templates(gateway.config.templates)
    engine.platform.senders = await dev_senders(gateway)
    engine.platform.usage = ListedUsageQuery(history)
    engine.platform.dashboard = DashboardSampler(gateway)
    engine.platform.dashboard.start()
    await demo_traffic(engine)
    _, key = await engine.issue_api_key(DEMO_ACCOUNT, "smsgw dev")
    return engine, key


async def demo_traffic(engine: Engine) -> None:
    """`DEMO_TRAFFIC` messages of the demo account through the engine; returns
    once the ones sent now are final and settled, so the demo balance is
    known when the banner prints."""
    account = engine.account(DEMO_ACCOUNT)
    assert account is not None
    later = time.time() + 3_600
    items = [
        SendItem(
            to=f"{('33', '44', '49')[n % 3]}61234{n:04d}",
            sender=DEMO_SENDER,
            text=f"smsgw dev demo message {n + 1}",
            send_at=later if n < DEMO_SCHEDULED else 0.0,
        )
        for n in range(DEMO_TRAFFIC)
    ]
    await engine.send(account, items[:DEMO_SCHEDULED])
    _, waiters = await engine.send(account, items[DEMO_SCHEDULED:], wait_final=True)
    # An operator that is slow today delays the banner, never stops the start.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(w for w in waiters if w is not None)), 30)
    await engine.pipeline.drain()


async def dev_senders(gateway: Gateway) -> SenderRegistry:
    """Sender IDs in memory, the demo account's ``Demo`` approved."""
    senders = await install_senders(gateway, MemorySenderStore())
    await senders.approve(DEMO_ACCOUNT, DEMO_SENDER, by="smsgw dev")
    return senders


async def dev_templates(config: TemplatesConfig) -> MessageTemplates:
    """Message templates in memory, the demo account's OTP and welcome ones in it."""
    templates = MessageTemplates(MemoryTemplateStore(), config)
    await templates.create(DEMO_ACCOUNT, "OTP", "Your code is {{code}}. Valid {{minutes}} minutes.")
    await templates.create(DEMO_ACCOUNT, "Welcome", "Hello {{name}}, welcome aboard!")
    return templates


async def dev_console(engine: Engine, host: str) -> dict[str, str]:
    """The web console with an admin and a customer of the demo account;
    their passwords, printed once by the banner."""
    users = ConsoleUsers(MemoryConsoleUserStore(), engine.gateway.logins)
    logins = {"admin": secrets.token_urlsafe(9), "demo": secrets.token_urlsafe(9)}
    await users.add("admin", logins["admin"], "admin")
    await users.add("demo", logins["demo"], "customer", account=DEMO_ACCOUNT)
    logins["reseller"] = secrets.token_urlsafe(9)
    await users.add("reseller", logins["reseller"], "reseller", account=DEMO_RESELLER)
    loopback = host in ("127.0.0.1", "::1", "localhost")
    install_console(engine, users, secrets.token_bytes(32), secure_cookies=not loopback)
    return logins


def banner(
    gateway: Gateway,
    host: str,
    password: str,
    api_port: int = 0,
    api_key: str = "",
    console: dict[str, str] | None = None,
) -> str:
    lines = [
        "smsgw dev: embedded gateway, in-memory ledger, simulated operator.",
        "NOTHING IS DURABLE: every message and balance is gone when this stops.",
        "",
        f"  SMPP     {host}:{gateway.ports[0]}",
        f"  system_id {DEMO_ACCOUNT}   password {password}",
    ]
    if api_port:
        lines += [
            f"  HTTP     http://{host}:{api_port}   (docs: /docs)",
            f"  API key  {api_key}",
            f"  Jasmin   /send?username={DEMO_ACCOUNT}&password={password}&to=...&content=...",
        ]
    if api_port and console:
        lines += [
            f"  Console  http://{host}:{api_port}/console   user admin"
            f"   password {console['admin']}",
            f"  Portal   http://{host}:{api_port}/portal    user demo"
            f"    password {console['demo']}",
            f"  Reseller http://{host}:{api_port}/portal    user reseller"
            f"    password {console['reseller']}",
        ]
    lines += [
        f"  credit   {DEMO_CREDIT / 1_000_000:.2f} EUR, {DEMO_PRICE / 1_000_000:.3f} EUR/part",
        "",
        "Bind any SMPP client (transceiver to get receipts back), or:",
    ]
    if api_port:
        lines.append(
            f"  curl -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json'"
            f' -d \'{{"to": "33612345678", "from": "Demo", "text": "hello"}}\''
            f" http://{host}:{api_port}/v1/messages"
        )
    lines.append("Ctrl-C stops.")
    return "\n".join(lines)
