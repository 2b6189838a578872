"""Stop keywords: an MO that says STOP puts its sender on the opt-out list of
the account it is routed to, then the sender is told.

The hook runs before the MO is stored (`engine.messages.mo.MoHook`): a list
that cannot be written makes the operator resend the MO, so an opt-out is
never acknowledged and lost. The MO itself still goes to the customer as any
MO: the customer learns of the opt-out and can update its own records.

The confirmation goes back from the number the MO was sent to, through the
pipeline like any message of the account: routed, priced and billed (the
operator bills us for it too), refused like any other when the account has no
credit. It passes the account's own list (the number is on it by then), not
the global list. A number already on the list is not told again: a loop with
an auto-responder, or a flood of STOPs, costs the account nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import structlog

from engine.customers.accounts import AccountConfig
from engine.customers.pending import Delivery
from engine.messages.mo import MAX_SHORT_MESSAGE, mo_text
from engine.messages.pipeline import Pipeline
from engine.messages.refusals import Reply
from engine.optout.keywords import StopKeywords
from engine.optout.numbers import BadNumber, check_number
from engine.optout.service import OptOut
from router import MessageFacts
from smpp import pdu as p
from smpp.constants import CommandStatus as S
from smpp.constants import Ton
from smpp.split import cheapest_coding
from smpp.text import encode_text
from smpp.tlv import Tag

log = structlog.get_logger("smsgw.optout")


class StopRequests:
    """The MO hook of `engine.optout.install_optout`."""

    def __init__(
        self, optout: OptOut, pipeline: Pipeline, accounts: Mapping[str, AccountConfig]
    ) -> None:
        self.optout = optout
        self.pipeline = pipeline
        self.accounts = accounts
        self.keywords = StopKeywords(optout.config.keywords)

    async def __call__(self, batch: list[Delivery]) -> None:
        stops: dict[str, dict[str, p.DeliverSm]] = {}
        for mo in batch:
            account = self.accounts.get(mo.account)
            if account is None or not self.keywords.matches(mo_text(mo.deliver)):
                continue
            number = self._sender(account, mo.deliver)
            if number is not None:
                stops.setdefault(account.id, {})[number] = mo.deliver
        for account_id, senders in stops.items():
            for number in await self.optout.add(account_id, list(senders), "mo"):
                self._confirm(self.accounts[account_id], number, senders[number])

    def _sender(self, account: AccountConfig, mo: p.DeliverSm) -> str | None:
        """The MO's sender as the account's messages to it are routed
        (international, by the account's default country), or None."""
        address = mo.source_addr
        if mo.source_addr_ton == Ton.INTERNATIONAL:
            address = "+" + address.removeprefix("+")
        facts = MessageFacts(
            source="",
            destination=address,
            now=datetime.now(UTC),
            account=account.id,
            groups=account.groups,
        )
        try:
            return check_number(self.pipeline.table.prepare(facts).destination, "source_addr")
        except BadNumber as exc:
            log.info("stop keyword from no number", account=account.id, why=str(exc))
            return None

    def _confirm(self, account: AccountConfig, number: str, mo: p.DeliverSm) -> None:
        text = self.optout.config.reply_of(account.id)
        if not text:
            return
        request = confirmation(text, number, mo, account.latin1_allowed)
        with self.optout.screen.exempting(account.id, number):
            self.pipeline.submit(account, request, _logged(account.id))


def confirmation(text: str, number: str, mo: p.DeliverSm, latin1_allowed: bool) -> p.SubmitSm:
    """The submit_sm telling ``number`` it is unsubscribed, from where it wrote."""
    coding = cheapest_coding(text, latin1_allowed=latin1_allowed)
    user_data = encode_text(text, coding)
    long = len(user_data) > MAX_SHORT_MESSAGE
    return p.SubmitSm(
        source_addr=mo.destination_addr,
        source_addr_ton=mo.dest_addr_ton,
        source_addr_npi=mo.dest_addr_npi,
        destination_addr="+" + number,  # international already: not read as national
        dest_addr_ton=Ton.INTERNATIONAL,
        dest_addr_npi=1,
        data_coding=coding,
        short_message=b"" if long else user_data,
        tlvs={Tag.MESSAGE_PAYLOAD: user_data} if long else {},
    )


def _logged(account: str) -> Reply:
    def reply(status: int, message_id: str, reason: str) -> None:
        if status != S.ESME_ROK:
            log.warning("opt-out confirmation refused", account=account, reason=reason)

    return reply
