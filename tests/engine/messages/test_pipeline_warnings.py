"""A ledger that refuses every batch is one warning with counts, not a line per batch."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from ledger.model import AcceptRequest
from smpp.constants import CommandStatus as S
from tests.engine.gateway_harness import OTP, Customer, running_gateway, simulator


async def test_a_ledger_down_is_told_once_with_the_count_of_each_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def down(requests: list[AcceptRequest], *, urgent: bool = False) -> list[object]:
        raise ConnectionError("redis gone")

    async with running_gateway("memory", [simulator()]) as gateway:
        monkeypatch.setattr(gateway.pipeline.ledger, "accept_many", down)
        customer = Customer()
        connection = await customer.bind(gateway)
        with capture_logs() as logs:
            for _ in range(3):  # one batch each: every answer comes before the next submit
                assert (await connection.request(OTP)).command_status == S.ESME_RTHROTTLED
        await connection.unbind()
    (told,) = [line for line in logs if line["event"] == "ledger accept failed, batches voided"]
    assert told["errors"] == {"ConnectionError": 1} and told["error"] == "redis gone"
    voided = [line for line in logs if line["event"] == "unanswered accepts voided"]
    assert len(voided) <= 1  # the voids of the first batch, told once too
