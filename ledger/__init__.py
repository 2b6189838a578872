"""Credit ledger: Redis Lua commit point, in-memory twin, PostgreSQL persister.

`Ledger` is the interface; `RedisLedger` (production) and `MemoryLedger`
(`smsgw dev`, tests) implement it with the same results. `ledger.persister`
moves events into PostgreSQL; `ledger.reconcile` checks the two agree.
"""

from ledger.config import LedgerConfig, PersisterConfig
from ledger.events import MessageEvent, MessageState
from ledger.memory import MemoryLedger
from ledger.model import (
    AcceptOutcome,
    AcceptRequest,
    AcceptResult,
    AccountLimits,
    AccountState,
    AdjustOutcome,
    AdjustResult,
    OutboxEntry,
    OutboxRef,
    QuotaPeriod,
    SettleOutcome,
    SettleResult,
)
from ledger.protocol import Ledger
from ledger.redis_ledger import RedisLedger

__all__ = [
    "AcceptOutcome",
    "AcceptRequest",
    "AcceptResult",
    "AccountLimits",
    "AccountState",
    "AdjustOutcome",
    "AdjustResult",
    "Ledger",
    "LedgerConfig",
    "MemoryLedger",
    "MessageEvent",
    "MessageState",
    "OutboxEntry",
    "OutboxRef",
    "PersisterConfig",
    "QuotaPeriod",
    "RedisLedger",
    "SettleOutcome",
    "SettleResult",
]
