"""The message lifecycle table: complete, closed at final states, and the
names query_sm and the HTTP API give each state."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.messages.lifecycle import (
    EVENT_OF_RECEIPT,
    FINAL,
    RECORDED,
    SMPP_STATE,
    STATE_OF_SMPP,
    TRANSITIONS,
    Event,
)
from ledger.events import MessageState as State
from smpp.receipt import MessageState as SmppState
from smpp.receipt import is_final


def test_every_event_is_recorded_with_the_one_state_it_leads_to() -> None:
    assert set(RECORDED) == set(Event)
    for (_, event), target in TRANSITIONS.items():
        assert RECORDED[event] is target


def test_final_states_have_no_way_out() -> None:
    assert {
        State.DELIVERED,
        State.EXPIRED,
        State.DELETED,
        State.UNDELIVERABLE,
        State.REJECTED,
        State.UNKNOWN,
        State.FAILED,
    } == FINAL
    for state in FINAL:
        assert all(TRANSITIONS.get((state, event)) is None for event in Event)


def test_a_new_message_starts_accepted_or_voided_only() -> None:
    starts = {event: target for (state, event), target in TRANSITIONS.items() if state is None}
    assert starts == {Event.ACCEPTED: State.ACCEPTED, Event.VOIDED: State.FAILED}


def test_receipts_move_only_messages_an_operator_has() -> None:
    receipts = set(EVENT_OF_RECEIPT.values())
    for (state, event), _ in TRANSITIONS.items():
        if event in receipts:
            assert state in (State.SUBMITTED, State.ENROUTE)
    for receipt in receipts:
        assert TRANSITIONS.get((State.ACCEPTED, receipt)) is None


@given(st.lists(st.sampled_from(list(Event)), max_size=12))
def test_any_order_of_events_ends_where_the_table_says_and_stays_final(
    events: list[Event],
) -> None:
    state: State | None = None
    for event in events:
        moved = TRANSITIONS.get((state, event))
        if state in FINAL:
            assert moved is None
        if moved is not None:
            assert (state, event) in TRANSITIONS
            state = moved


def test_every_state_has_a_name_for_query_sm_and_the_api() -> None:
    assert set(SMPP_STATE) == set(State)
    assert set(STATE_OF_SMPP) == set(SmppState) == set(EVENT_OF_RECEIPT)
    for state in State:
        assert (state in FINAL) == is_final(SMPP_STATE[state])
    assert STATE_OF_SMPP[SmppState.ENROUTE] is State.ACCEPTED
    assert STATE_OF_SMPP[SmppState.DELIVERED] is State.DELIVERED
