"""VerifyService over a whole gateway (either backend) and a recording operator:
the code goes out as an OTP message, is checked once, expires, and is never kept."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from engine.customers.accounts import AccountConfig
from engine.customers.api_keys import MemoryApiKeyStore
from engine.facade import Engine
from engine.messages.message import Priority
from engine.sending import SendItem
from engine.verify import (
    InvalidVerification,
    Limited,
    NewVerification,
    Refused,
    Snapshot,
    Status,
    Verdict,
    VerifySettings,
)
from engine.verify.service import VerifyService
from tests.clock import FakeClock
from tests.engine.gateway_harness import running_gateway
from tests.engine.peers import RecordingSmsc, recording_operator
from tests.engine.verify.harness import Recorder, code_in, texts, verify_service

pytestmark = pytest.mark.parametrize("backend", ["memory", "redis"])

FR = "33612345678"
DE = "4915112345678"
"""A number no test route covers."""


class Verify:
    """A running gateway, its operator, and a VerifyService on a clock the test moves."""

    def __init__(
        self,
        engine: Engine,
        service: VerifyService,
        operator: RecordingSmsc,
        clock: FakeClock,
        observer: Recorder,
    ) -> None:
        self.engine = engine
        self.service = service
        self.operator = operator
        self.clock = clock
        self.observer = observer
        self.items: list[SendItem] = []
        """What the service asked the facade to send."""
        send = engine.send

        async def spy(account: AccountConfig, items: Sequence[SendItem], **options: Any) -> Any:
            self.items += items
            return await send(account, items, **options)

        engine.send = spy  # type: ignore[method-assign]

    @property
    def bank(self) -> AccountConfig:
        account = self.engine.account("bank")
        assert account is not None
        return account

    async def start(self, to: str = FR, **fields: Any) -> Snapshot:
        started = await self.service.start(self.bank, NewVerification(to=to, **fields))
        assert isinstance(started, Snapshot), started
        return started

    async def code(self, to: str = FR, nth: int = 0) -> str:
        """The code in the ``nth`` SMS the operator got for ``to``."""
        await self.operator.wait_until(lambda: len(texts(self.operator.submitted, to)) > nth)
        return code_in(texts(self.operator.submitted, to)[nth])


@asynccontextmanager
async def verifying(
    backend: str, redis: Redis, namespace: str, **settings: Any
) -> AsyncIterator[Verify]:
    operator = recording_operator()
    client = redis if backend == "redis" else None
    async with running_gateway(backend, [operator], client, namespace) as gateway:
        engine = Engine(gateway, MemoryApiKeyStore())
        clock, observer = FakeClock(time.time()), Recorder()
        service = verify_service(
            engine,
            client,
            namespace,
            VerifySettings(**settings),
            observer=observer,
            clock=clock,
        )
        yield Verify(engine, service, operator, clock, observer)


async def test_a_code_goes_out_as_an_otp_and_approves_once(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with verifying(backend, redis_client, namespace) as verify:
        started = await verify.start()
        assert (started.status, started.to, started.attempts_left) == (Status.PENDING, FR, 5)
        assert started.expires_at == pytest.approx(verify.clock.now + 300)
        code = await verify.code()
        assert len(code) == 6
        [item] = verify.items
        assert (item.priority, item.validity, item.reference) == (Priority.OTP, 300, started.id)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        checked = await verify.service.check("bank", started.id, wrong)
        assert checked is not None
        assert (checked.verdict, checked.verification.attempts_left) == (Verdict.PENDING, 4)
        approved = await verify.service.check("bank", started.id, code)
        assert approved is not None and approved.verdict is Verdict.APPROVED
        again = await verify.service.check("bank", started.id, code)
        assert again is not None and again.verdict is Verdict.ALREADY_USED
        found = await verify.service.get("bank", started.id)
        assert found is not None and found.status is Status.APPROVED
        assert found.message_id == started.message_id != ""
        now = verify.clock.now
        assert verify.observer.events == [("sent", "bank", FR, now), ("approved", "bank", FR, now)]


async def test_an_expired_code_approves_nothing(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with verifying(backend, redis_client, namespace) as verify:
        started = await verify.start(expiry=30)
        code = await verify.code()
        verify.clock.advance(30)
        checked = await verify.service.check("bank", started.id, code)
        assert checked is not None
        assert (checked.verdict, checked.verification.attempts_left) == (Verdict.EXPIRED, 5)
        found = await verify.service.get("bank", started.id)
        assert found is not None and found.status is Status.EXPIRED
        assert [event for event, *_ in verify.observer.events] == ["sent"]


async def test_the_last_wrong_code_ends_the_verification(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with verifying(backend, redis_client, namespace, max_attempts=3) as verify:
        started = await verify.start(code_length=4)
        code = await verify.code()
        wrong = f"{(int(code) + 1) % 10_000:04d}"
        verdicts = []
        for _ in range(3):
            checked = await verify.service.check("bank", started.id, wrong)
            assert checked is not None
            verdicts.append((checked.verdict, checked.verification.attempts_left))
        assert verdicts == [
            (Verdict.PENDING, 2),
            (Verdict.PENDING, 1),
            (Verdict.MAX_ATTEMPTS_REACHED, 0),
        ]
        late = await verify.service.check("bank", started.id, code)
        assert late is not None and late.verdict is Verdict.MAX_ATTEMPTS_REACHED


async def test_codes_to_one_number_are_rate_limited(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    settings = {"resend_interval": 30, "sends_per_window": 2, "send_window": 600}
    async with verifying(backend, redis_client, namespace, **settings) as verify:
        await verify.start()
        too_soon = await verify.service.start(verify.bank, NewVerification(to=FR))
        assert isinstance(too_soon, Limited)
        assert (too_soon.limit, too_soon.retry_after) == ("resend_interval", 30)
        verify.clock.advance(30)
        await verify.start()
        verify.clock.advance(30)
        full = await verify.service.start(verify.bank, NewVerification(to=FR))
        assert isinstance(full, Limited)
        assert (full.limit, full.retry_after) == ("sends_per_window", 540)
        await verify.start(to="33699999999")  # another number counts alone
        await verify.operator.wait_until(lambda: len(verify.operator.submitted) == 3)


async def test_a_refused_sms_stores_nothing_and_counts_nothing(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with verifying(backend, redis_client, namespace) as verify:
        for _ in range(2):  # the second is not held back by the resend interval
            refused = await verify.service.start(verify.bank, NewVerification(to=DE))
            assert refused == Refused("no_route", refused.detail)
        assert verify.observer.events == []
        if backend == "redis":
            assert not [k async for k in redis_client.scan_iter(match=f"{namespace}:verify:*")]


async def test_another_accounts_verification_is_not_found(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with verifying(backend, redis_client, namespace) as verify:
        started = await verify.start()
        code = await verify.code()
        assert await verify.service.get("shop", started.id) is None
        assert await verify.service.check("shop", started.id, code) is None
        assert await verify.service.check("bank", "0" * 32, code) is None
        assert await verify.service.get("bank", started.id[:-1]) is None
        found = await verify.service.get("bank", started.id)
        assert found is not None and found.attempts_left == 5  # shop's check cost nothing


async def test_the_request_takes_the_template_and_sender(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    async with verifying(backend, redis_client, namespace) as verify:
        await verify.start(template="{code} is your Bank code. {code}", sender="Bank")
        await verify.operator.wait_until(lambda: bool(verify.operator.submitted))
        [submitted] = verify.operator.submitted
        [text] = texts(verify.operator.submitted, FR)
        code, rest = text.split(" ", 1)
        assert rest == f"is your Bank code. {code}"
        assert submitted.source_addr == "Bank"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code_length": 4}, "code_length"),
        ({"code_length": 9}, "code_length"),
        ({"expiry": 29}, "expiry"),
        ({"expiry": 3601}, "expiry"),
        ({"template": "Your code"}, "template"),
    ],
)
async def test_a_field_out_of_bounds_is_named(
    backend: str, redis_client: Redis, namespace: str, fields: dict[str, Any], field: str
) -> None:
    limits = {"code_length_min": 5, "code_length_max": 8}
    async with verifying(backend, redis_client, namespace, **limits) as verify:
        with pytest.raises(InvalidVerification, match=rf"\(\$\.{field}\)") as refused:
            await verify.service.start(verify.bank, NewVerification(to=FR, **fields))
        assert refused.value.field == field
        assert verify.operator.submitted == []


async def test_an_observer_that_fails_fails_nothing(
    backend: str, redis_client: Redis, namespace: str
) -> None:
    class Broken(Recorder):
        def sent(self, account: str, to: str, now: float) -> None:
            raise RuntimeError("the fraud guard is down")

        def approved(self, account: str, to: str, now: float) -> None:
            raise RuntimeError("the fraud guard is down")

    async with verifying(backend, redis_client, namespace) as verify:
        verify.service._observer = Broken()
        started = await verify.start()
        checked = await verify.service.check("bank", started.id, await verify.code())
        assert checked is not None and checked.verdict is Verdict.APPROVED
