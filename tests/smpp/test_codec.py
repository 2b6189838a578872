import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp import codec, pdu
from smpp.constants import CommandId
from smpp.constants import CommandStatus as S
from smpp.errors import LocalProtocolError, RemoteProtocolError
from smpp.tlv import Tag
from tests.smpp.strategies import ANY_PDU, pdus


def header(length: int, command_id: int, status: int = 0, sequence: int = 1) -> bytes:
    return struct.pack(">IIII", length, command_id, status, sequence)


def frame(command_id: int, body: bytes, sequence: int = 1) -> bytes:
    return header(16 + len(body), command_id, 0, sequence) + body


@pytest.mark.parametrize("cls", pdu.PDU_CLASSES, ids=lambda cls: cls.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_pdu_round_trips(cls: type[pdu.Pdu], data: st.DataObject) -> None:
    value = data.draw(pdus(cls))
    wire = codec.encode(value)
    assert struct.unpack(">II", wire[:8]) == (len(wire), cls.command_id)
    assert codec.decode(wire) == value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_the_codec_error(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        codec.decode(data)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([int(c) for c in CommandId]), st.binary(max_size=300))
def test_random_bodies_decode_or_fail_cleanly_and_reencode(command_id: int, body: bytes) -> None:
    try:
        decoded = codec.decode(frame(command_id, body))
    except RemoteProtocolError as exc:
        assert exc.command_id == command_id
        assert exc.sequence_number == 1
        return
    assert codec.decode(codec.encode(decoded)) == decoded


@settings(max_examples=200, deadline=None)
@given(ANY_PDU, st.data())
def test_truncating_a_pdu_never_escapes_the_codec_error(
    value: pdu.Pdu, data: st.DataObject
) -> None:
    wire = codec.encode(value)
    cut = data.draw(st.integers(16, len(wire)))
    truncated = struct.pack(">I", cut) + wire[4:cut]
    with contextlib.suppress(RemoteProtocolError):
        codec.decode(truncated)


def test_golden_enquire_link() -> None:
    wire = bytes.fromhex("00000010000000150000000000000001")
    assert codec.decode(wire) == pdu.EnquireLink(sequence_number=1)
    assert codec.encode(pdu.EnquireLink(sequence_number=1)) == wire


def test_golden_submit_sm() -> None:
    value = pdu.SubmitSm(
        sequence_number=2,
        source_addr_ton=5,
        source_addr="BANK",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="447700900123",
        registered_delivery=1,
        short_message=b"Hi",
        tlvs={Tag.USER_MESSAGE_REFERENCE: 0x0102},
    )
    wire = codec.encode(value)
    assert wire.hex() == (
        "00000039" "00000004" "00000000" "00000002"
        "00" "05" "00" "42414e4b00" "01" "01" "34343737303039303031323300"
        "00" "00" "00" "00" "00" "01" "00" "00" "00" "02" "4869"
        "0204" "0002" "0102"
    )  # fmt: skip
    assert codec.decode(wire) == value


def test_unknown_tlv_is_kept_and_reencoded_unchanged() -> None:
    body = bytes(17) + bytes.fromhex("1400 0003 aabbcc")
    wire = frame(CommandId.SUBMIT_SM, body)
    decoded = codec.decode(wire)
    assert decoded.tlvs == {0x1400: b"\xaa\xbb\xcc"}
    assert codec.encode(decoded) == wire


def test_response_with_error_may_have_no_body() -> None:
    decoded = codec.decode(header(16, CommandId.SUBMIT_SM_RESP, S.ESME_RTHROTTLED, 9))
    assert decoded == pdu.SubmitSmResp(sequence_number=9, command_status=S.ESME_RTHROTTLED)


def test_cstring_tlv_without_its_nul_is_accepted() -> None:
    wire = frame(CommandId.DELIVER_SM_RESP, b"\x00" + bytes.fromhex("001e 0003") + b"abc")
    assert codec.decode(wire).tlvs == {Tag.RECEIPTED_MESSAGE_ID: "abc"}


def _submit_body(**overrides: bytes) -> bytes:
    fields = {
        "service_type": b"\x00",
        "source": b"\x01\x01" + b"12345\x00",
        "dest": b"\x01\x01" + b"4477\x00",
        "flags": b"\x00\x00\x00",
        "schedule": b"\x00",
        "validity": b"\x00",
        "tail": b"\x01\x00\x00\x00",
        "sm": b"\x02hi",
    }
    fields.update(overrides)
    return b"".join(fields.values())


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"source": b"\x01\x01" + b"1" * 21 + b"\x00"}, S.ESME_RINVSRCADR),
        ({"dest": b"\x01\x01" + b"1" * 25 + b"\x00"}, S.ESME_RINVDSTADR),
        ({"service_type": b"ABCDEFG\x00"}, S.ESME_RINVSERTYP),
        ({"schedule": b"2401011200\x00"}, S.ESME_RINVSCHED),
        ({"validity": b"24010112000000+\x00"}, S.ESME_RINVEXPIRY),
        ({"sm": b"\x09hi"}, S.ESME_RINVMSGLEN),
        ({"sm": b"\xffhi"}, S.ESME_RINVMSGLEN),
        ({"sm": b"\x00" + bytes.fromhex("0204 0001 01")}, S.ESME_RINVPARLEN),
        ({"sm": b"\x00" + bytes.fromhex("0204 0005 01")}, S.ESME_RINVOPTPARSTREAM),
        ({"sm": b"\x00" + bytes.fromhex("02")}, S.ESME_RINVOPTPARSTREAM),
        ({"sm": b"\x00" + bytes.fromhex("001e 0042") + b"a" * 66}, S.ESME_RINVPARLEN),
        ({"tail": b"\x01", "sm": b""}, S.ESME_RINVCMDLEN),
    ],
)
def test_invalid_submit_sm_fields_carry_their_status(overrides: dict, status: S) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(frame(CommandId.SUBMIT_SM, _submit_body(**overrides), sequence=77))
    assert caught.value.status == status
    assert caught.value.command_id == CommandId.SUBMIT_SM
    assert caught.value.sequence_number == 77


def test_valid_submit_body_decodes() -> None:
    decoded = codec.decode(frame(CommandId.SUBMIT_SM, _submit_body()))
    assert decoded.short_message == b"hi"
    assert decoded.destination_addr == "4477"


def test_cstring_cut_by_the_end_of_the_pdu_is_a_length_error() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(frame(CommandId.SUBMIT_SM, b"\x00\x01\x01123"))
    assert caught.value.status == S.ESME_RINVCMDLEN


def test_unknown_command_id_asks_for_generic_nack() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(frame(0x00000099, b"", sequence=5))
    assert caught.value.status == S.ESME_RINVCMDID
    assert (caught.value.command_id, caught.value.sequence_number) == (0x99, 5)


def test_command_length_must_match_the_bytes() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(header(20, CommandId.ENQUIRE_LINK))
    assert caught.value.status == S.ESME_RINVCMDLEN


@pytest.mark.parametrize(
    ("dests", "status"),
    [(b"\x00", S.ESME_RINVNUMDESTS), (b"\x01\x03", S.ESME_RINVDESTFLAG)],
)
def test_submit_multi_destination_errors(dests: bytes, status: S) -> None:
    body = b"\x00\x01\x01123\x00" + dests + b"\x00" * 20
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(frame(CommandId.SUBMIT_MULTI, body))
    assert caught.value.status == status


@pytest.mark.parametrize(
    ("value", "status", "words"),
    [
        (pdu.SubmitSm(source_addr="1" * 21), S.ESME_RINVSRCADR, "source_addr"),
        (pdu.SubmitSm(destination_addr="a\0b"), S.ESME_RINVDSTADR, "NUL"),
        (pdu.SubmitSm(validity_period="1"), S.ESME_RINVEXPIRY, "validity_period"),
        (pdu.SubmitSm(short_message=b"x" * 255), S.ESME_RINVMSGLEN, "message_payload"),
        (pdu.SubmitSm(esm_class=256), S.ESME_RSYSERR, "esm_class"),
        (pdu.SubmitSm(sequence_number=-1), S.ESME_RSYSERR, "sequence_number"),
        (pdu.SubmitSm(source_addr="é€"), S.ESME_RSYSERR, "source_addr"),
        (pdu.SubmitSm(tlvs={Tag.SAR_MSG_REF_NUM: 70000}), S.ESME_RSYSERR, "big"),
        (pdu.SubmitSm(tlvs={Tag.SAR_MSG_REF_NUM: "1"}), S.ESME_RSYSERR, "int"),
        (pdu.SubmitSm(tlvs={Tag.CALLBACK_NUM: b"1"}), S.ESME_RINVPARLEN, "0x0381"),
        (pdu.SubmitSm(tlvs={0x1400: "x"}), S.ESME_RSYSERR, "bytes"),
        (pdu.SubmitMulti(), S.ESME_RINVNUMDESTS, "dest_addresses"),
    ],
)
def test_encode_refuses_invalid_fields(value: pdu.Pdu, status: S, words: str) -> None:
    with pytest.raises(LocalProtocolError) as caught:
        codec.encode(value)
    assert caught.value.status == status
    assert words in str(caught.value)


def test_encode_refuses_what_is_not_a_pdu() -> None:
    with pytest.raises(LocalProtocolError):
        codec.encode(pdu.SmeAddress())  # type: ignore[arg-type]


def test_response_to_echoes_the_sequence_number() -> None:
    request = pdu.SubmitSm(sequence_number=42)
    response = pdu.response_to(request, message_id="abc")
    assert response == pdu.SubmitSmResp(sequence_number=42, message_id="abc")
    assert response.is_response and not request.is_response
    with pytest.raises(TypeError):
        pdu.response_to(pdu.GenericNack())


def test_error_response_with_nothing_set_goes_without_body() -> None:
    throttled = pdu.SubmitSmResp(sequence_number=3, command_status=S.ESME_RTHROTTLED)
    assert codec.encode(throttled) == header(16, CommandId.SUBMIT_SM_RESP, S.ESME_RTHROTTLED, 3)
    with_id = pdu.SubmitSmResp(sequence_number=3, command_status=S.ESME_RTHROTTLED, message_id="x")
    assert len(codec.encode(with_id)) == 18
    assert len(codec.encode(pdu.SubmitSmResp(sequence_number=3))) == 17
