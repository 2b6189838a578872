"""A shard's administration and resellers on the in-memory ledger, unstarted:
what the hierarchy and the service need, without sockets."""

from __future__ import annotations

from engine.admin.administration import Administration
from engine.config import GatewayConfig
from engine.customers.accounts import AccountConfig
from engine.customers.api_keys import MemoryApiKeyStore
from engine.gateway import Gateway
from engine.messages.receipt_map import MemoryReceiptMap
from engine.resellers.service import Resellers
from ledger.memory import MemoryLedger
from ledger.model import AccountLimits
from router import load_data

PRICE = 40_000
ROUTING = {
    "currency": "EUR",
    "connectors": {"op": {}},
    "tariffs": {
        "retail": {"rates": [{"prefix": "", "price": PRICE}]},
        "wholesale": {"rates": [{"prefix": "", "price": 30_001}]},
    },
    "accounts": {"cheap": {"sell_tariff": "wholesale"}},
    "mt_routes": [
        {"id": "all", "sell_tariff": "retail", "target": {"kind": "static", "connector": "op"}}
    ],
}


async def shard(*accounts: AccountConfig, credit: int = 0) -> Resellers:
    """Resellers over a shard holding ``accounts``, each given ``credit``."""
    ledger = MemoryLedger()
    await ledger.start()
    config = GatewayConfig(shard="t1", accounts=accounts, routing=load_data(ROUTING))
    gateway = Gateway(config, ledger, MemoryReceiptMap(ttl=60))
    for account in accounts:
        await ledger.set_account(account.id, AccountLimits(credit_limit=account.credit_limit))
        if credit:
            await ledger.adjust(account.id, credit, reason="test", reference="start")
    return Resellers(Administration(gateway, MemoryApiKeyStore()))


def account(account_id: str, **fields: object) -> AccountConfig:
    return AccountConfig(id=account_id, password_hash="", **fields)  # type: ignore[arg-type]
