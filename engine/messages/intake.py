"""From a customer's submit_sm to an `MtMessage` priced and routed, or a status.

Everything here is synchronous and pure given its inputs: decode the text to
count parts and let content filters see it, resolve the validity period, ask
the routing table. The ledger call (the commit point) happens after, batched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Protocol

import msgspec

from engine.billing.pricing import Pricer
from engine.customers.accounts import AccountConfig
from engine.messages.message import Callback, MtMessage, Priority
from router import MessageFacts, MtRouted, NoRoute, Rejected, RoutingTable
from smpp import pdu as p
from smpp.constants import MESSAGE_MODE_MASK, EsmClass
from smpp.constants import CommandStatus as S
from smpp.smpptime import SmppTimeError, expiry_from_validity, resolve_smpp_time
from smpp.split import MAX_PARTS, SplitError, count_payload_parts
from smpp.text import Alphabet, NotTextError, alphabet_of, decode_text
from smpp.tlv import Tag

_PRIORITY_NAMES = {
    Priority.OTP: "otp",
    Priority.EXPRESS: "express",
    Priority.NORMAL: "normal",
    Priority.BULK: "bulk",
}


_UDHI = int(EsmClass.UDHI)
"""A plain int: an IntFlag operand makes `&` go through enum's Python code."""
_MESSAGE_PAYLOAD = int(Tag.MESSAGE_PAYLOAD)
"""A plain int: reading a member off its enum class costs 120 ns, per message."""


class ValidityLimits(msgspec.Struct, frozen=True, dict=True):
    """Checked once here, so a submit without a validity_period (most of them)
    skips `expiry_from_validity`; ``dict`` makes room for the cached periods."""

    default: float = 86_400.0
    """Seconds a message may wait for an operator when the customer set no validity."""
    maximum: float = 172_800.0

    def __post_init__(self) -> None:
        if not 0 < self.default <= self.maximum:
            raise ValueError(f"need 0 < default <= maximum, got {self.default} and {self.maximum}")

    @cached_property
    def default_period(self) -> timedelta:
        return timedelta(seconds=self.default)

    @cached_property
    def maximum_period(self) -> timedelta:
        return timedelta(seconds=self.maximum)


class Refused(msgspec.Struct, frozen=True):
    status: int
    reason: str
    code: str = ""
    """The HTTP API's refusal code when the status alone does not say it
    (a screen's: ``opted_out``...); "" maps the status."""


class SubmitOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What an HTTP submit can say that a submit_sm cannot (or says otherwise),
    and the customer bind a submit_sm came on."""

    priority: Priority | None = None
    reference: str = ""
    callback: Callback | None = None
    not_before: float = 0.0
    expires_at: float | None = None
    """Unix time: overrides the validity period (an OTP wait's deadline)."""
    bind: int = 0
    """`MtMessage.bind`: one options object per bind, made when it binds."""


NO_OPTIONS = SubmitOptions()


class Screen(Protocol):
    """A check every routed message passes before anything is held (opt-out
    lists, the fraud guard). Synchronous and in memory: it runs per message
    on the accept path."""

    def screen(
        self, account: AccountConfig, decision: MtRouted, priority: Priority, now: float
    ) -> Refused | None:
        """Why the message is refused (nothing held, nothing charged), or None."""
        ...


def message_priority(account: AccountConfig, priority_flag: int) -> Priority:
    """priority_flag 3 (the highest, §5.2.14) is OTP, 2 express; else the account's class."""
    if priority_flag >= 3:
        return Priority.OTP
    if priority_flag == 2:
        return Priority.EXPRESS
    return account.priority


def prepare_mt(
    request: p.SubmitSm,
    account: AccountConfig,
    table: RoutingTable,
    pricer: Pricer,
    message_id: str,
    now: float,
    validity: ValidityLimits,
    usable: frozenset[str] | None = None,
    options: SubmitOptions = NO_OPTIONS,
    screens: Sequence[Screen] = (),
) -> MtMessage | Refused:
    """The routed message ready for the ledger, or why it is refused (nothing held).

    ``usable`` are the connectors with a live bind: routes prefer them.
    """
    if not request.destination_addr or not request.destination_addr.isprintable():
        return Refused(S.ESME_RINVDSTADR, "destination_addr empty or not printable")
    if not request.source_addr.isprintable():
        return Refused(S.ESME_RINVSRCADR, "source_addr not printable")
    user_data = request.short_message
    payload = request.tlvs.get(_MESSAGE_PAYLOAD)
    if payload is not None:
        if user_data:
            return Refused(S.ESME_RINVOPTPARAMVAL, "short_message and message_payload both set")
        user_data = payload  # type: ignore[assignment]
    moment = datetime.fromtimestamp(now, UTC)
    if not request.validity_period:  # the SMSC default (§5.2.16): 2 of ~11 us to parse it
        expires = moment + validity.default_period
    else:
        try:
            expires = expiry_from_validity(
                request.validity_period,
                moment,
                default=validity.default_period,
                maximum=validity.maximum_period,
            )
        except SmppTimeError as exc:
            return Refused(S.ESME_RINVEXPIRY, str(exc))
    expires_at = expires.timestamp() if options.expires_at is None else options.expires_at
    not_before = options.not_before
    if request.schedule_delivery_time:
        try:
            scheduled = resolve_smpp_time(request.schedule_delivery_time, moment)
        except SmppTimeError as exc:
            return Refused(S.ESME_RINVSCHED, str(exc))
        not_before = scheduled.timestamp() if scheduled is not None else 0.0
    if not_before >= expires_at:
        return Refused(S.ESME_RINVSCHED, "scheduled after the message expires")
    has_udh = bool(request.esm_class & _UDHI)
    try:
        alphabet = alphabet_of(request.data_coding)
    except NotTextError:
        alphabet = Alphabet.EIGHT_BIT
    try:
        text = "" if has_udh else decode_text(user_data, request.data_coding)
    except NotTextError:
        text = ""
    try:
        parts = 1 if has_udh else count_payload_parts(user_data, alphabet)
    except SplitError as exc:
        return Refused(S.ESME_RINVMSGLEN, str(exc))
    if parts > MAX_PARTS:
        return Refused(S.ESME_RINVMSGLEN, f"{parts} parts: at most {MAX_PARTS}")
    priority = options.priority
    if priority is None:
        priority = message_priority(account, request.priority_flag)
    facts = _facts(request.source_addr, request.destination_addr, moment,
                   pricer.reseller_of(account) or account, text, request.data_coding,
                   priority)  # fmt: skip
    decision = table.decide_mt(facts, usable)
    if isinstance(decision, NoRoute) and usable is not None:
        # Every connector of the route is down: accept and queue rather than
        # refuse; the message goes out when one comes back (or expires).
        decision = table.decide_mt(facts)
    if isinstance(decision, NoRoute):
        return Refused(S.ESME_RINVDSTADR, "no route")
    if isinstance(decision, Rejected):
        return Refused(decision.command_status, decision.reason)
    assert isinstance(decision, MtRouted)
    for screen in screens:
        refused = screen.screen(account, decision, priority, now)
        if refused is not None:
            return refused
    priced = pricer.sell(decision, account, account.currency or table.currency, now)
    if isinstance(priced, str):  # the operator's rates miss a pair: nothing held
        return Refused(S.ESME_RSYSERR, priced)
    price_per_part, pricing = priced
    return MtMessage(
        id=message_id,
        account=account.id,
        priority=priority,
        source_addr=request.source_addr,
        source_addr_ton=request.source_addr_ton,
        source_addr_npi=request.source_addr_npi,
        destination_addr=decision.destination,
        dest_addr_ton=1,
        dest_addr_npi=1,
        data_coding=request.data_coding,
        esm_class=request.esm_class & ~MESSAGE_MODE_MASK,
        user_data=user_data,
        parts=parts,
        registered_delivery=request.registered_delivery,
        connectors=decision.connectors,
        price_per_part=price_per_part,
        cost_per_part=decision.cost_per_part or 0,
        pricing=pricing,
        accepted_at=now,
        expires_at=expires_at,
        reference=options.reference,
        callback=options.callback,
        not_before=not_before if not_before > now else 0.0,
        bind=options.bind,
    )


def _facts(
    source: str,
    destination: str,
    moment: datetime,
    account: AccountConfig,
    text: str,
    data_coding: int,
    priority: Priority,
) -> MessageFacts:
    return MessageFacts(
        source=source,
        destination=destination,
        now=moment,
        account=account.id,
        groups=account.groups,
        content=text,
        data_coding=data_coding,
        priority=_PRIORITY_NAMES[priority],  # type: ignore[arg-type]
    )


def routed_again(
    message: MtMessage,
    account: AccountConfig,
    table: RoutingTable,
    pricer: Pricer,
    usable: frozenset[str] | None,
    now: float,
) -> MtMessage | None:
    """``message`` routed by this shard's table, for a message adopted from a
    dead shard whose connectors this one does not have; None when no route
    here serves it at the price held per part (the hold cannot grow)."""
    try:
        text = (
            "" if message.esm_class & _UDHI else decode_text(message.user_data, message.data_coding)
        )
    except NotTextError:
        text = ""
    # Already international: the "+" keeps the router from reading it as national.
    facts = _facts(message.source_addr, "+" + message.destination_addr,
                   datetime.fromtimestamp(now, UTC), pricer.reseller_of(account) or account,
                   text, message.data_coding, message.priority)  # fmt: skip
    decision = table.decide_mt(facts, usable)
    if isinstance(decision, NoRoute) and usable is not None:
        decision = table.decide_mt(facts)  # queued until a connector binds, as on accept
    if not isinstance(decision, MtRouted):
        return None
    priced = pricer.sell(decision, account, account.currency or table.currency, now)
    if isinstance(priced, str) or priced[0] != message.price_per_part:
        return None
    return msgspec.structs.replace(
        message, connectors=decision.connectors, cost_per_part=decision.cost_per_part or 0
    )
