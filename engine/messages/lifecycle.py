"""The life of a message as data: its states, the events that move it, and
the one table of transitions between them.

The pipeline records every event in the message's history by the state the
table gives it (`recorded`); an operator's receipt is an event named by its
message_state (`EVENT_OF_RECEIPT`, SMPP 3.4 §5.2.28); query_sm answers in
SMPP's states (`SMPP_STATE`) and the HTTP API in ours (`STATE_OF_SMPP` for
what only a shard's memory knows). An event without an arrow from where a
message is (a late or repeated receipt after a final state) is still kept in
the history, which is the message's log; the table says it moves nothing.

States are `ledger.events.MessageState`, the names the history and the
PostgreSQL schema use.
"""

from __future__ import annotations

from enum import StrEnum

from ledger.events import MessageState as State
from smpp.receipt import MessageState as SmppState


class Event(StrEnum):
    ACCEPTED = "accepted"
    """The commit point held the credit and queued the message."""
    REPLACED = "replaced"
    """replace_sm changed the message while it waited (§4.10)."""
    VOIDED = "voided"
    """An accept whose answer never came was voided before anyone sent it."""
    SUBMITTED = "submitted"
    """The operator accepted every part (submit_sm_resp OK)."""
    FAILED = "failed"
    """A permanent error, or every connector of its route failed."""
    EXPIRED = "expired"
    """Its validity ran out before an operator took it."""
    CANCELLED = "cancelled"
    """cancel_sm, or an OTP wait's deadline, took it out of its queue (§4.9)."""
    REPORTED_ENROUTE = "reported_enroute"
    REPORTED_DELIVERED = "reported_delivered"
    REPORTED_EXPIRED = "reported_expired"
    REPORTED_DELETED = "reported_deleted"
    REPORTED_UNDELIVERABLE = "reported_undeliverable"
    REPORTED_REJECTED = "reported_rejected"
    REPORTED_UNKNOWN = "reported_unknown"
    REPORTED_SKIPPED = "reported_skipped"


_WAITING = (State.ACCEPTED,)
_WITH_OPERATOR = (State.SUBMITTED, State.ENROUTE)
_RECEIPTS = {
    Event.REPORTED_ENROUTE: State.ENROUTE,
    Event.REPORTED_DELIVERED: State.DELIVERED,
    Event.REPORTED_EXPIRED: State.EXPIRED,
    Event.REPORTED_DELETED: State.DELETED,
    Event.REPORTED_UNDELIVERABLE: State.UNDELIVERABLE,
    Event.REPORTED_REJECTED: State.REJECTED,
    Event.REPORTED_UNKNOWN: State.UNKNOWN,
    Event.REPORTED_SKIPPED: State.FAILED,
}

TRANSITIONS: dict[tuple[State | None, Event], State] = {
    (None, Event.ACCEPTED): State.ACCEPTED,
    (None, Event.VOIDED): State.FAILED,
    **{(s, Event.REPLACED): State.ACCEPTED for s in _WAITING},
    **{(s, Event.SUBMITTED): State.SUBMITTED for s in _WAITING},
    **{(s, Event.FAILED): State.FAILED for s in _WAITING},
    **{(s, Event.EXPIRED): State.EXPIRED for s in _WAITING},
    **{(s, Event.CANCELLED): State.DELETED for s in _WAITING},
    **{(s, event): target for s in _WITH_OPERATOR for event, target in _RECEIPTS.items()},
}
"""(state before, event) -> state after; None before: the message is new."""


def _recorded() -> dict[Event, State]:
    """Each event leads to one state, wherever it starts: the history needs no
    knowledge of where a message was to record an event."""
    targets: dict[Event, State] = {}
    for (_, event), target in TRANSITIONS.items():
        if targets.setdefault(event, target) is not target:
            raise AssertionError(f"{event} leads to two states")
    missing = set(Event) - targets.keys()
    if missing:
        raise AssertionError(f"events without a transition: {sorted(missing)}")
    return targets


RECORDED: dict[Event, State] = _recorded()
"""The state each event is recorded with in the message's history."""

FINAL = frozenset(State) - {start for start, _ in TRANSITIONS if start is not None}
"""States no event leaves."""

EVENT_OF_RECEIPT: dict[SmppState, Event] = {
    SmppState.SCHEDULED: Event.REPORTED_ENROUTE,
    SmppState.ENROUTE: Event.REPORTED_ENROUTE,
    SmppState.ACCEPTED: Event.REPORTED_ENROUTE,
    SmppState.DELIVERED: Event.REPORTED_DELIVERED,
    SmppState.EXPIRED: Event.REPORTED_EXPIRED,
    SmppState.DELETED: Event.REPORTED_DELETED,
    SmppState.UNDELIVERABLE: Event.REPORTED_UNDELIVERABLE,
    SmppState.REJECTED: Event.REPORTED_REJECTED,
    SmppState.UNKNOWN: Event.REPORTED_UNKNOWN,
    SmppState.SKIPPED: Event.REPORTED_SKIPPED,
}
"""An operator's receipt, by the message_state it carries (§5.2.28)."""

RECORDED_OF_RECEIPT: dict[SmppState, State] = {
    smpp: RECORDED[event] for smpp, event in EVENT_OF_RECEIPT.items()
}
"""The state a receipt is recorded with: both lookups at once, for the receipt path."""

SMPP_STATE: dict[State, SmppState] = {
    State.ACCEPTED: SmppState.ENROUTE,
    State.SUBMITTED: SmppState.ENROUTE,
    State.ENROUTE: SmppState.ENROUTE,
    State.DELIVERED: SmppState.DELIVERED,
    State.EXPIRED: SmppState.EXPIRED,
    State.DELETED: SmppState.DELETED,
    State.UNDELIVERABLE: SmppState.UNDELIVERABLE,
    State.REJECTED: SmppState.REJECTED,
    State.UNKNOWN: SmppState.UNKNOWN,
    State.FAILED: SmppState.UNDELIVERABLE,
}
"""Our state as query_sm_resp's message_state names it."""

STATE_OF_SMPP: dict[SmppState, State] = {
    **RECORDED_OF_RECEIPT,
    SmppState.ENROUTE: State.ACCEPTED,
}
"""A shard's recent state (kept in SMPP's terms for query_sm) as the HTTP API
names it: ENROUTE there is "accepted" until the history says more."""
