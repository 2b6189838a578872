"""SMPP session states and the table of who may send what when (§2.2, §2.3).

The table is the only place that knows the rules: a (role of the sender,
state, command_id) missing from it is a protocol error. Responses are allowed
whenever their request was (the window check lives in `smpp.session`).
"""

from __future__ import annotations

from enum import Enum

from smpp.constants import CommandId as C


class Role(Enum):
    """Which end of the session we are."""

    ESME = "esme"
    """We bound to an SMSC (our connectors to operators)."""
    SMSC = "smsc"
    """An ESME bound to us (our customers)."""


class SessionState(Enum):
    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"
    CLOSED = "closed"


OPEN, TX, RX, TRX = (
    SessionState.OPEN,
    SessionState.BOUND_TX,
    SessionState.BOUND_RX,
    SessionState.BOUND_TRX,
)
_BOUND = frozenset({TX, RX, TRX})
_SENDS_TO_SMSC = frozenset({TX, TRX})
_RECEIVES_FROM_SMSC = frozenset({RX, TRX})

ESME_REQUESTS: dict[C, frozenset[SessionState]] = {
    C.BIND_TRANSMITTER: frozenset({OPEN}),
    C.BIND_RECEIVER: frozenset({OPEN}),
    C.BIND_TRANSCEIVER: frozenset({OPEN}),
    C.SUBMIT_SM: _SENDS_TO_SMSC,
    C.SUBMIT_MULTI: _SENDS_TO_SMSC,
    C.DATA_SM: _SENDS_TO_SMSC,
    C.QUERY_SM: _SENDS_TO_SMSC,
    C.CANCEL_SM: _SENDS_TO_SMSC,
    C.REPLACE_SM: _SENDS_TO_SMSC,
    C.ENQUIRE_LINK: _BOUND | {OPEN},
    C.UNBIND: _BOUND,
}
"""Requests an ESME may send, by the states it may send them in (Table 2-1)."""

SMSC_REQUESTS: dict[C, frozenset[SessionState]] = {
    C.OUTBIND: frozenset({OPEN}),
    C.DELIVER_SM: _RECEIVES_FROM_SMSC,
    C.DATA_SM: _RECEIVES_FROM_SMSC,
    C.ALERT_NOTIFICATION: _RECEIVES_FROM_SMSC,
    C.ENQUIRE_LINK: _BOUND | {OPEN},
    C.UNBIND: _BOUND,
}
"""Requests an SMSC may send, by the states it may send them in (Table 2-1)."""

REQUESTS_BY_ROLE: dict[Role, dict[C, frozenset[SessionState]]] = {
    Role.ESME: ESME_REQUESTS,
    Role.SMSC: SMSC_REQUESTS,
}

BOUND_STATE_OF_BIND: dict[int, SessionState] = {
    C.BIND_TRANSMITTER_RESP: TX,
    C.BIND_RECEIVER_RESP: RX,
    C.BIND_TRANSCEIVER_RESP: TRX,
}
"""The state a successful bind response moves both ends into (§2.2)."""


def is_bound(state: SessionState) -> bool:
    return state in _BOUND
