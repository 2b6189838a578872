"""One end of an SMPP session as a sans-IO state machine (the h11 model).

Bytes in: `receive_data`, then `next_event` until it returns None. PDUs out:
`send` returns the bytes to write. The session enforces the state table of
`smpp.state`, matches responses to the requests they answer, and turns every
peer error into a `RemoteProtocolError` that `error_response` can answer.
Timers, windows and flow control belong to the I/O adapter that owns it.
"""

from __future__ import annotations

from smpp import codec
from smpp import pdu as p
from smpp.constants import MAX_SEQUENCE_NUMBER, RESPONSE_BIT
from smpp.constants import CommandId as C
from smpp.constants import CommandStatus as S
from smpp.errors import FrameError, LocalProtocolError, RemoteProtocolError
from smpp.framer import DEFAULT_MAX_PDU_SIZE, PduFramer
from smpp.state import BOUND_STATE_OF_BIND, REQUESTS_BY_ROLE, Role, SessionState, is_bound

_REQUEST_CLASSES = {cls.command_id: cls for cls in p.PDU_CLASSES if cls.response_class}
_OTHER_ROLE = {Role.ESME: Role.SMSC, Role.SMSC: Role.ESME}
_MAY_SEND: dict[Role, dict[SessionState, frozenset[int]]] = {
    role: {
        state: frozenset(int(command_id) for command_id, states in table.items() if state in states)
        for state in SessionState
    }
    for role, table in REQUESTS_BY_ROLE.items()
}
"""`smpp.state`'s table turned around: the requests each role may send in each
state, as plain ints, so a PDU costs one set lookup and no enum hashing."""


class Session:
    """Protocol state of one SMPP connection, for either role."""

    def __init__(self, role: Role, *, max_pdu_size: int = DEFAULT_MAX_PDU_SIZE) -> None:
        self.role = role
        self._peer_role = _OTHER_ROLE[role]
        self._framer = PduFramer(max_pdu_size)
        self._sequence = 0
        self._awaiting_response: dict[int, int] = {}
        self._unanswered: dict[int, int] = {}
        self.state: SessionState
        self._we_may_send: frozenset[int]
        self._peer_may_send: frozenset[int]
        self._enter(SessionState.OPEN)

    @property
    def awaiting_response(self) -> int:
        """Requests we sent that the peer has not answered yet (our window use)."""
        return len(self._awaiting_response)

    @property
    def unanswered(self) -> int:
        """Requests the peer sent that we have not answered yet (its window use)."""
        return len(self._unanswered)

    def next_sequence(self) -> int:
        """Sequence numbers run 1..0x7FFFFFFF and wrap (§5.1.4)."""
        self._sequence = self._sequence % MAX_SEQUENCE_NUMBER + 1
        return self._sequence

    def receive_data(self, data: bytes) -> None:
        self._framer.feed(data)

    def next_event(self) -> p.Pdu | None:
        """The next PDU from the peer, or None when more bytes are needed.

        Raises `RemoteProtocolError` for a PDU that is malformed or not allowed
        in the current state; the session stays usable unless it is a
        `FrameError`, after which the connection must be closed.
        """
        frame = self._framer.next_pdu()
        if frame is None:
            return None
        received = codec.decode(frame)
        command_id = received.command_id
        if command_id & RESPONSE_BIT:
            self._receive_response(received)
        elif command_id in self._peer_may_send and command_id not in _STATE_CHANGING:
            self._unanswered[received.sequence_number] = command_id
        else:
            self._receive_request(received)
        return received

    def send(self, outgoing: p.Pdu) -> bytes:
        """Check ``outgoing`` against the state rules and encode it.

        A request with sequence_number 0 is given the next one.
        """
        if outgoing.command_id & RESPONSE_BIT:
            return self.send_response(outgoing)
        return self.send_request(outgoing)[1]

    def send_request(self, request: p.Pdu) -> tuple[int, bytes]:
        """`send` for a request: the sequence number it went with, and its bytes."""
        command_id = request.command_id
        if command_id not in self._we_may_send:
            raise LocalProtocolError(
                f"{self.role.value} may not send {C(command_id).name} in {self.state.value}",
                S.ESME_RINVBNDSTS,
            )
        sequence = request.sequence_number
        if sequence == 0:
            sequence = self.next_sequence()
        wire = codec.encode(request, sequence)
        if command_id in _STATE_CHANGING:
            if command_id in _UNANSWERED_REQUESTS:
                return sequence, wire
            if command_id == C.UNBIND:
                self._enter(SessionState.UNBINDING)
        self._awaiting_response[sequence] = command_id
        return sequence, wire

    def send_response(self, response: p.Pdu) -> bytes:
        """`send` for a response: it must answer a request of the peer."""
        wire = codec.encode(response)
        self._send_response(response)
        return wire

    def error_response(self, error: RemoteProtocolError) -> bytes | None:
        """The bytes answering a peer error, or None when there is nothing to
        answer (a bad response is never answered, §2.9)."""
        command_id = error.command_id
        request_class = _REQUEST_CLASSES.get(command_id)
        if isinstance(error, FrameError) or request_class is None:
            if command_id & RESPONSE_BIT and not isinstance(error, FrameError):
                return None
            nack = p.GenericNack(sequence_number=error.sequence_number, command_status=error.status)
            return codec.encode(nack)
        self._unanswered.pop(error.sequence_number, None)
        response_class = request_class.response_class
        assert response_class is not None
        return codec.encode(
            response_class(sequence_number=error.sequence_number, command_status=error.status)
        )

    def abandon(self, sequence: int) -> None:
        """Stop waiting for the response to one of our requests (it timed out);
        a late response to it then counts as answering nothing."""
        self._awaiting_response.pop(sequence, None)

    def connection_lost(self) -> list[int]:
        """Close the session; returns the sequence numbers still awaiting a
        response, so the owner can resend what they carried."""
        self._enter(SessionState.CLOSED)
        lost = list(self._awaiting_response)
        self._awaiting_response.clear()
        self._unanswered.clear()
        return lost

    def _receive_request(self, request: p.Pdu) -> None:
        """The rare requests: refused ones, and those that change the state."""
        command_id = request.command_id
        if command_id not in self._peer_may_send:
            status = S.ESME_RINVBNDSTS
            if command_id in _BIND_REQUESTS and is_bound(self.state):
                status = S.ESME_RALYBND
            raise RemoteProtocolError(
                f"{C(command_id).name} not allowed in {self.state.value}",
                status,
                command_id=command_id,
                sequence_number=request.sequence_number,
            )
        if command_id not in _UNANSWERED_REQUESTS:
            self._unanswered[request.sequence_number] = command_id
        if command_id == C.UNBIND:
            self._enter(SessionState.UNBINDING)

    def _receive_response(self, response: p.Pdu) -> None:
        sequence = response.sequence_number
        request_id = self._awaiting_response.pop(sequence, None)
        command_id = response.command_id
        if request_id is None or (
            command_id != request_id | RESPONSE_BIT and command_id != C.GENERIC_NACK
        ):
            if request_id is not None:
                self._awaiting_response[sequence] = request_id
            raise RemoteProtocolError(
                f"{C(command_id).name} answers no request of ours (sequence {sequence})",
                S.ESME_RINVCMDID,
                command_id=command_id,
                sequence_number=sequence,
            )
        if command_id in _STATE_CHANGING:
            self._apply_response(command_id, response.command_status)

    def _send_response(self, response: p.Pdu) -> None:
        command_id = response.command_id
        if command_id == _GENERIC_NACK:
            self._unanswered.pop(response.sequence_number, None)
            return
        request_id = self._unanswered.pop(response.sequence_number, None)
        if request_id is None or command_id != request_id | RESPONSE_BIT:
            if request_id is not None:
                self._unanswered[response.sequence_number] = request_id
            raise LocalProtocolError(
                f"{C(command_id).name} answers no request of the peer"
                f" (sequence {response.sequence_number})"
            )
        if command_id in _STATE_CHANGING:
            self._apply_response(command_id, response.command_status)

    def _apply_response(self, command_id: int, status: int) -> None:
        """Responses that change the state do so for both ends alike."""
        if command_id == C.UNBIND_RESP:
            self._enter(SessionState.CLOSED)
        elif status == S.ESME_ROK and command_id in BOUND_STATE_OF_BIND:
            self._enter(BOUND_STATE_OF_BIND[command_id])

    def _enter(self, state: SessionState) -> None:
        """The only way the state changes: what each end may send follows it."""
        self.state = state
        self._we_may_send = _MAY_SEND[self.role][state]
        self._peer_may_send = _MAY_SEND[self._peer_role][state]


_GENERIC_NACK = C.GENERIC_NACK
"""Hoisted: reading an enum member off its class costs more than the comparison."""
_BIND_REQUESTS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
_UNANSWERED_REQUESTS = frozenset({C.OUTBIND, C.ALERT_NOTIFICATION})
"""Requests that have no response PDU (§4.1.7, §4.12)."""
_STATE_CHANGING = frozenset({*_UNANSWERED_REQUESTS, C.UNBIND, C.UNBIND_RESP, *BOUND_STATE_OF_BIND})
"""PDUs that need more than window bookkeeping; every other one takes the short path."""


class SessionPair:
    """Both ends of one session wired together in memory, for tests and tools."""

    def __init__(self) -> None:
        self.esme = Session(Role.ESME)
        self.smsc = Session(Role.SMSC)

    def send(self, sender: Session, outgoing: p.Pdu) -> p.Pdu:
        """Send from one end and return what the other end receives."""
        receiver = self.smsc if sender is self.esme else self.esme
        receiver.receive_data(sender.send(outgoing))
        received = receiver.next_event()
        assert received is not None
        return received
