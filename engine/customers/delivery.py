"""deliver_sm to customers: our receipts (with OUR message id) and MO.

A deliver_sm goes on a receiving bind of its account with a free window slot;
when there is none it is held (bounded, until its deadline) and sent when a
bind appears or a window slot frees up.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from engine.customers.accounts import AccountConfig, BindRegistry, HeldDeliveries
from engine.loop.batching import BackgroundTasks
from engine.messages.receipt_map import SubmittedPart
from engine.shard.parking import RedisParking
from smpp import pdu as p
from smpp.constants import EsmClass
from smpp.receipt import STAT_WORDS, DeliveryReceipt, MessageState, format_receipt, is_final
from smpp.tlv import Tag

DEFAULT_WINDOW = 10
_RECEIPT = int(EsmClass.DELIVERY_RECEIPT)
_INTERMEDIATE = int(EsmClass.INTERMEDIATE_NOTIFICATION)


class CustomerDelivery:
    """Held deliveries stay in this shard's memory while the account has a
    receiving bind here (its window is full); with no such bind they are
    parked in Redis (`engine.shard.parking`) for any shard that has one. Embedded
    mode has one shard and no parking."""

    def __init__(
        self,
        binds: BindRegistry,
        held: HeldDeliveries,
        accounts: dict[str, AccountConfig],
        parking: RedisParking | None = None,
    ) -> None:
        self.binds = binds
        self.held = held
        self.accounts = accounts
        self.parking = parking
        self._tasks = BackgroundTasks()

    def send(self, account: str, deliver: p.DeliverSm, deadline: float) -> None:
        """Send now, or hold until ``deadline`` (unix time)."""
        if self._send_now(account, deliver):
            return
        if self.parking is not None and not self.binds.has_receiver(account):
            self.parking.park(account, deadline, deliver)
        else:
            self.held.hold(account, deadline, deliver)

    def flush_held(self, account: str) -> None:
        """A bind appeared or a window slot freed: send what waits, oldest first."""
        if self.held.has(account):
            for deadline, deliver in self.held.take(account, time.time()):
                self.send(account, deliver, deadline)  # type: ignore[arg-type]

    def account_bound(self, account: str) -> None:
        """A receiving bind appeared: what this shard holds, then what is parked."""
        self.flush_held(account)
        if self.parking is not None:
            self._tasks.spawn(self.claim_parked([account]))

    async def drain(self) -> None:
        await self._tasks.drain()
        if self.parking is not None:
            await self.parking.drain()

    async def claim_parked(self, accounts: list[str] | None = None) -> None:
        """Send what other shards parked for ``accounts`` (default: every account
        with a receiving bind here)."""
        if self.parking is None:
            return
        wanted = self.binds.receiving_accounts() if accounts is None else accounts
        for account, deadline, deliver in await self.parking.claim(wanted):
            self.send(account, deliver, deadline)

    def _send_now(self, account: str, deliver: p.DeliverSm) -> bool:
        config = self.accounts.get(account)
        window = config.window if config is not None else DEFAULT_WINDOW
        connection = self.binds.receiver(account, window)
        if connection is None:
            return False
        future = connection.request(deliver)
        future.add_done_callback(lambda f: self._answered(account, f))
        return True

    def _answered(self, account: str, future: asyncio.Future[p.Pdu]) -> None:
        if not future.cancelled():
            future.exception()
        self.flush_held(account)


def receipt_pdu(part: SubmittedPart, state: MessageState, error: str) -> p.DeliverSm:
    """Our receipt to the customer: the standard text and TLVs, with our id;
    an intermediate notification (esm_class 0x20, §5.2.12) while not final."""
    text = format_receipt(
        DeliveryReceipt(
            id=part.message_id,
            sub=1,
            dlvrd=1 if state is MessageState.DELIVERED else 0,
            submit_date=datetime.fromtimestamp(part.submitted_at, UTC),
            done_date=datetime.now(UTC),
            stat=STAT_WORDS[state],
            err=error,
            text="",
        )
    )
    return p.DeliverSm(
        source_addr=part.destination_addr,
        source_addr_ton=1,
        source_addr_npi=1,
        destination_addr=part.source_addr,
        esm_class=_RECEIPT if is_final(state) else _INTERMEDIATE,
        short_message=text.encode("ascii"),
        tlvs={Tag.RECEIPTED_MESSAGE_ID: part.message_id, Tag.MESSAGE_STATE: int(state)},
    )
