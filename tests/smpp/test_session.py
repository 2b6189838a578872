import struct

import pytest

from smpp import codec
from smpp import pdu as p
from smpp.constants import CommandId as C
from smpp.constants import CommandStatus as S
from smpp.errors import FrameError, LocalProtocolError, RemoteProtocolError
from smpp.session import Session, SessionPair
from smpp.state import Role, SessionState


def bound_pair(bind: type[p.Pdu] = p.BindTransceiver) -> SessionPair:
    pair = SessionPair()
    request = pair.send(pair.esme, bind(system_id="acme", password="secret"))
    pair.send(pair.smsc, p.response_to(request, system_id="smsgw"))
    return pair


@pytest.mark.parametrize(
    ("bind", "state"),
    [
        (p.BindTransmitter, SessionState.BOUND_TX),
        (p.BindReceiver, SessionState.BOUND_RX),
        (p.BindTransceiver, SessionState.BOUND_TRX),
    ],
)
def test_successful_bind_moves_both_ends(bind: type[p.Pdu], state: SessionState) -> None:
    pair = bound_pair(bind)
    assert pair.esme.state == pair.smsc.state == state


def test_failed_bind_leaves_both_ends_open() -> None:
    pair = SessionPair()
    request = pair.send(pair.esme, p.BindTransmitter(system_id="acme", password="wrong"))
    pair.send(pair.smsc, p.response_to(request, S.ESME_RBINDFAIL))
    assert pair.esme.state == pair.smsc.state == SessionState.OPEN


def test_submit_before_bind_is_answered_with_invalid_bind_status() -> None:
    esme, smsc = Session(Role.ESME), Session(Role.SMSC)
    smsc.receive_data(codec.encode(p.SubmitSm(sequence_number=9)))
    with pytest.raises(RemoteProtocolError) as caught:
        smsc.next_event()
    assert caught.value.status == S.ESME_RINVBNDSTS
    answer = smsc.error_response(caught.value)
    assert codec.decode(answer or b"") == p.SubmitSmResp(
        sequence_number=9, command_status=S.ESME_RINVBNDSTS
    )
    with pytest.raises(LocalProtocolError):
        esme.send(p.SubmitSm())


def test_receiver_bind_cannot_submit() -> None:
    pair = bound_pair(p.BindReceiver)
    pair.smsc.receive_data(codec.encode(p.SubmitSm(sequence_number=5)))
    with pytest.raises(RemoteProtocolError) as caught:
        pair.smsc.next_event()
    assert caught.value.status == S.ESME_RINVBNDSTS


def test_second_bind_on_a_bound_session_is_already_bound() -> None:
    pair = bound_pair()
    pair.smsc.receive_data(codec.encode(p.BindTransmitter(sequence_number=77)))
    with pytest.raises(RemoteProtocolError) as caught:
        pair.smsc.next_event()
    assert caught.value.status == S.ESME_RALYBND
    answer = codec.decode(pair.smsc.error_response(caught.value) or b"")
    assert answer == p.BindTransmitterResp(sequence_number=77, command_status=S.ESME_RALYBND)


def test_transmitter_does_not_receive_deliver_sm() -> None:
    pair = bound_pair(p.BindTransmitter)
    with pytest.raises(LocalProtocolError):
        pair.smsc.send(p.DeliverSm())


def test_submit_and_deliver_flow_tracks_windows() -> None:
    pair = bound_pair()
    submit = pair.send(pair.esme, p.SubmitSm(destination_addr="4477"))
    assert pair.esme.awaiting_response == 1 and pair.smsc.unanswered == 1
    pair.send(pair.smsc, p.response_to(submit, message_id="m1"))
    assert pair.esme.awaiting_response == 0 and pair.smsc.unanswered == 0
    deliver = pair.send(pair.smsc, p.DeliverSm(esm_class=0x04))
    pair.send(pair.esme, p.response_to(deliver))
    assert pair.smsc.awaiting_response == 0


def test_requests_get_increasing_sequence_numbers() -> None:
    pair = bound_pair()
    first = pair.send(pair.esme, p.EnquireLink())
    second = pair.send(pair.esme, p.EnquireLink())
    assert second.sequence_number == first.sequence_number + 1


def test_sequence_numbers_wrap_to_one() -> None:
    session = Session(Role.ESME)
    session._sequence = 0x7FFFFFFE
    assert [session.next_sequence() for _ in range(3)] == [0x7FFFFFFF, 1, 2]


def test_unbind_closes_both_ends() -> None:
    pair = bound_pair()
    unbind = pair.send(pair.esme, p.Unbind())
    assert pair.esme.state == pair.smsc.state == SessionState.UNBINDING
    pair.send(pair.smsc, p.response_to(unbind))
    assert pair.esme.state == pair.smsc.state == SessionState.CLOSED


def test_response_to_nothing_is_an_error_never_answered() -> None:
    pair = bound_pair()
    pair.esme.receive_data(codec.encode(p.SubmitSmResp(sequence_number=999)))
    with pytest.raises(RemoteProtocolError) as caught:
        pair.esme.next_event()
    assert pair.esme.error_response(caught.value) is None


def test_generic_nack_answers_a_request() -> None:
    pair = bound_pair()
    submit = pair.send(pair.esme, p.SubmitSm())
    nack = pair.send(pair.smsc, p.GenericNack(sequence_number=submit.sequence_number))
    assert nack.command_id == C.GENERIC_NACK
    assert pair.esme.awaiting_response == 0


def test_answering_twice_is_refused() -> None:
    pair = bound_pair()
    submit = pair.send(pair.esme, p.SubmitSm())
    pair.smsc.send(p.response_to(submit))
    with pytest.raises(LocalProtocolError):
        pair.smsc.send(p.response_to(submit))


def test_unknown_command_is_answered_with_generic_nack() -> None:
    session = Session(Role.SMSC)
    session.receive_data(struct.pack(">IIII", 16, 0x00000077, 0, 12))
    with pytest.raises(RemoteProtocolError) as caught:
        session.next_event()
    nack = codec.decode(session.error_response(caught.value) or b"")
    assert nack == p.GenericNack(sequence_number=12, command_status=S.ESME_RINVCMDID)


def test_bad_command_length_is_a_frame_error_answered_with_generic_nack() -> None:
    session = Session(Role.SMSC, max_pdu_size=1000)
    session.receive_data(struct.pack(">IIII", 5000, C.SUBMIT_SM, 0, 3))
    with pytest.raises(FrameError) as caught:
        session.next_event()
    nack = codec.decode(session.error_response(caught.value) or b"")
    assert nack == p.GenericNack(sequence_number=3, command_status=S.ESME_RINVCMDLEN)


def test_connection_lost_hands_back_unanswered_requests() -> None:
    pair = bound_pair()
    first = pair.send(pair.esme, p.SubmitSm())
    second = pair.send(pair.esme, p.SubmitSm())
    assert sorted(pair.esme.connection_lost()) == [first.sequence_number, second.sequence_number]
    assert pair.esme.state == SessionState.CLOSED


def test_smsc_may_outbind_an_open_session() -> None:
    pair = SessionPair()
    assert pair.send(pair.smsc, p.Outbind(system_id="x")).command_id == C.OUTBIND
    assert pair.smsc.awaiting_response == pair.esme.unanswered == 0


def test_alert_notification_needs_no_answer() -> None:
    pair = bound_pair(p.BindReceiver)
    pair.send(pair.smsc, p.AlertNotification(source_addr="4477"))
    assert pair.smsc.awaiting_response == pair.esme.unanswered == 0
