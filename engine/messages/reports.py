"""What a customer hears of a message's fate: its recent state for query_sm,
the HTTP waiters, and its receipt, as a webhook or as a deliver_sm on a bind,
as far as the customer asked for it."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from functools import lru_cache
from typing import Protocol

from engine.customers.pending import Delivery
from engine.customers.receipts import receipt_pdu
from engine.messages.receipt_map import SubmittedPart
from engine.messages.states import KnownState, RecentStates
from engine.messages.waiters import MessageWaiters
from smpp.constants import SMSC_RECEIPT_MASK, RegisteredDelivery
from smpp.receipt import MessageState, is_final

# Plain ints: IntFlag operands send every `&` through enum's slow Python methods.
_WANTS_FINAL = SMSC_RECEIPT_MASK
_FAILURE_ONLY = int(RegisteredDelivery.FAILURE_ONLY)
INTERMEDIATE = int(RegisteredDelivery.INTERMEDIATE)


class CallbackSink(Protocol):
    """Where receipts of HTTP messages go instead of an SMPP bind (webhooks)."""

    def submitted(self, part: SubmittedPart, connector: str, operator_id: str) -> None: ...

    def settled(
        self,
        part: SubmittedPart,
        state: MessageState,
        error: str,
        connector: str = "",
        operator_id: str = "",
    ) -> None: ...


@lru_cache(maxsize=256)
def forwarded_err(err: str | None) -> str:
    """An operator's receipt ``err`` as we pass it on: its ASCII letters and
    digits, at most three (Table B-1), or "000". The operator's text is kept
    as sent when parsed, and may hold anything printable (even "²").
    Remembered: operators send a few codes, and cleaning one on every
    receipt cost 0.5 to 1.8 us."""
    kept = "".join(c for c in err or "" if c.isascii() and c.isalnum())[:3]
    return kept or "000"


class Reports:
    def __init__(self, states: RecentStates, waiters: MessageWaiters) -> None:
        self.states = states
        self.waiters = waiters
        self.callbacks: CallbackSink | None = None
        """Sends HTTP customers' webhooks; set by the HTTP front."""

    def already_reported(self, part: SubmittedPart, state: MessageState) -> bool:
        """One final receipt per message, not per part: the last part's, unless
        an earlier part failed first (then that failure, once)."""
        known = self.states.get(part.message_id, part.account)
        if known is not None and known.final_at:
            return True
        return not part.last and not (is_final(state) and state is not MessageState.DELIVERED)

    def report(
        self,
        part: SubmittedPart,
        state: MessageState,
        error: str,
        deadline: float,
        deliveries: list[Delivery],
        *,
        connector: str = "",
        operator_id: str = "",
        undo: dict[str, KnownState | None] | None = None,
    ) -> None:
        """Records ``state``; our receipt (carrying OUR id) goes into
        ``deliveries`` as the customer's registered_delivery asks: final ones,
        failures only, and intermediate ones only when asked for (§5.2.17).
        ``undo`` keeps what was known before, for `stored`."""
        if undo is not None:
            undo.setdefault(part.message_id, self.states.get(part.message_id, part.account))
        error_code = int(error) if error.isdigit() else 0
        final = is_final(state)
        final_at = time.time() if final else 0.0
        known = KnownState(part.account, state, final_at, error_code, part.source_addr)
        self.states.set(part.message_id, known)
        if final and self.waiters:
            self.waiters.settled(part.message_id, state, error)
        if part.callback is not None:
            if self.callbacks is not None:
                self.callbacks.settled(part, state, error, connector, operator_id)
            return
        asked = part.registered_delivery
        if not final:
            if asked & INTERMEDIATE:
                deliveries.append(_receipt(part, state, error, deadline))
            return
        wanted = asked & _WANTS_FINAL
        if not wanted or (wanted == _FAILURE_ONLY and state is MessageState.DELIVERED):
            return
        deliveries.append(_receipt(part, state, error, deadline))

    async def stored(self, commit: Awaitable[None], undo: dict[str, KnownState | None]) -> None:
        """``commit`` of the deliveries `report` gave; if it fails, the states
        it recorded are put back, so the receipts the operator sends again
        (it was answered so) find their messages unreported and are forwarded."""
        try:
            await commit
        except BaseException:
            for message_id, known in undo.items():
                self.states.put_back(message_id, known)
            raise


def _receipt(part: SubmittedPart, state: MessageState, error: str, deadline: float) -> Delivery:
    """Our receipt for the bind that submitted the message, if it is still there."""
    return Delivery(part.account, receipt_pdu(part, state, error), deadline, part.bind)
