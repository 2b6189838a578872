"""`smsgw dev`: the whole gateway embedded, for trying it and for tests.

The in-memory ledger twin, an in-memory receipt map and the simulated operator
(`bench.smsc_sim`, in its own process) stand in for Redis, PostgreSQL and a
real SMSC. A demo account is created with credit and its credentials printed.
Nothing is durable: stopping the process forgets every message and balance.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys

from api.console import install_console
from engine.config import GatewayConfig, ListenerConfig
from engine.console import ConsoleUsers, MemoryConsoleUserStore
from engine.customers.accounts import AccountConfig
from engine.customers.api_keys import MemoryApiKeyStore
from engine.customers.login_guard import SecurityConfig
from engine.customers.passwords import hash_password
from engine.facade import Engine
from engine.gateway import Gateway
from engine.messages.receipt_map import MemoryReceiptMap
from engine.operators.connector_config import ConnectorConfig
from engine.optout.install import install_optout
from engine.optout.store import MemoryOptOutStore
from engine.verify.codes import CodeHasher
from engine.verify.send_limits import MemorySendLimiter, SendLimits
from engine.verify.service import VerifyService
from engine.verify.store import MemoryVerificationStore
from engine.webhooks import WebhookLimits
from ledger.memory import MemoryLedger
from ledger.memory_messages import MemoryMessageStore
from router import load_data

DEMO_ACCOUNT = "demo"
DEMO_CREDIT = 100_000_000
"""100 EUR in micro-units: 2,500 messages at the demo price."""
DEMO_PRICE = 40_000

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
                id=DEMO_ACCOUNT, password_hash=hash_password(password, log2_n=12), window=50
            ),
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
    _, key = await engine.issue_api_key(DEMO_ACCOUNT, "smsgw dev")
    return engine, key


async def dev_console(engine: Engine, host: str) -> dict[str, str]:
    """The web console with an admin and a customer of the demo account;
    their passwords, printed once by the banner."""
    users = ConsoleUsers(MemoryConsoleUserStore(), engine.gateway.logins)
    logins = {"admin": secrets.token_urlsafe(9), "demo": secrets.token_urlsafe(9)}
    await users.add("admin", logins["admin"], "admin")
    await users.add("demo", logins["demo"], "customer", account=DEMO_ACCOUNT)
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
