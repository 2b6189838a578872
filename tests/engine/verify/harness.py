"""A `VerifyService` on either backend, and what the simulated operator got."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from engine.facade import Engine
from engine.verify import (
    CodeHasher,
    MemorySendLimiter,
    MemoryVerificationStore,
    RedisSendLimiter,
    RedisVerificationStore,
    SendLimits,
    VerifyObserver,
    VerifySettings,
)
from engine.verify.service import VerifyService
from ledger.redis_client import RedisClient
from smpp import pdu as p
from smpp.text import decode_text

SECRET = b"test secret, the same on every shard"


def verify_service(
    engine: Engine,
    redis: RedisClient | None,
    namespace: str,
    settings: VerifySettings | None = None,
    *,
    observer: VerifyObserver | None = None,
    clock: Callable[[], float] = time.time,
) -> VerifyService:
    """As the composition root builds it: Redis stores with a client, else memory."""
    settings = settings or VerifySettings()
    limits = SendLimits.of(settings)
    if redis is None:
        store, limiter = MemoryVerificationStore(), MemorySendLimiter(limits)
        return VerifyService(engine, store, limiter, settings, CodeHasher(SECRET), observer, clock)
    return VerifyService(
        engine,
        RedisVerificationStore(redis, namespace),
        RedisSendLimiter(redis, namespace, limits),
        settings,
        CodeHasher(SECRET),
        observer,
        clock,
    )


def texts(submitted: list[p.SubmitSm], to: str) -> list[str]:
    """The texts the operator got for ``to``, in order."""
    return [
        decode_text(s.short_message, s.data_coding) for s in submitted if s.destination_addr == to
    ]


def code_in(text: str) -> str:
    """The code in the default template's text."""
    found = re.fullmatch(r"Your code is ([0-9]+)", text)
    assert found is not None, text
    return found[1]


class Recorder:
    """A `VerifyObserver` that keeps what it heard."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, float]] = []

    def sent(self, account: str, to: str, now: float) -> None:
        self.events.append(("sent", account, to, now))

    def approved(self, account: str, to: str, now: float) -> None:
        self.events.append(("approved", account, to, now))
