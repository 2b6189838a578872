"""Interop over bytes with two peer libraries, and golden hex PDUs.

Both directions are checked field by field: a peer's wire bytes must decode
to exactly our value (every mandatory field and every TLV), and the peer must
read our wire bytes back into exactly the object it encodes from. No sockets:
smpplib 2.2.4 builds with ``make_pdu(...).generate()`` and reads with
``parse_pdu``; aiosmpplib 0.7.4 builds with ``SmppMessage.pdu()`` and reads
with ``parse_header`` plus the class's ``from_pdu``, as its ESME does.

What the peers cannot do, and so is not asked of them:

- smpplib forces interface_version 0x34 on binds, reads every string back as
  bytes, leaves short_message None when sm_length 0 ends the body, and
  declares some TLVs unlike §5.3.2 (source_addr_subunit as 2 octets,
  its_session_info as an integer, source_subaddress as a C string), so only
  TLVs it declares as the spec does are exchanged with it.
- aiosmpplib reads absolute SMPP times with a two-digit year (2024 becomes
  year 24), so only relative times are exchanged with it; it strips a trailing
  NUL from octet-string TLVs such as network_error_code, so receipts to it
  carry only receipted_message_id and message_state; it reads a 16-bit
  concatenation reference (UDH 06 08 04) as four octets, so the UDH parts use
  the 8-bit reference (05 00 03).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any, NamedTuple

import msgspec
import pytest
import smpplib.consts
import smpplib.smpp
from aiosmpplib import (
    NPI,
    TON,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    OptionalParam,
    PhoneNumber,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from aiosmpplib.protocol import MESSAGE_TYPE_MAP
from aiosmpplib.utils import split_sms_udh
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp import codec, pdu
from smpp.constants import CommandId
from smpp.constants import CommandStatus as S
from smpp.layout import LAYOUTS
from smpp.tlv import SPECS, Kind, Tag
from tests.smpp import golden
from tests.smpp.strategies import pdus

BANK = "MyBank"
HANDSET = "447700900123"
OTP_GSM_TEXT = "Pay €5 @ MyBank: code 482913"
OTP_GSM_OCTETS = b"Pay \x1b\x655 \x00 MyBank: code 482913"
"""GSM 03.38 default alphabet, one octet a character: € is escape 1B 65, @ is 00."""

LONG_TEXT = (
    "Ваш код подтверждения 482913. Никому не сообщайте этот код, сотрудники банка"
    " никогда не спрашивают этот код. Если это были не вы, позвоните в банк."
)
LONG_UCS2 = LONG_TEXT.encode("utf-16-be")
UDH_REF = 0x2A
UDH_CHUNK = 134
"""140 octets of user data less the 6 of the UDH: 67 UCS-2 characters a part."""
SAR_REF = 0x1234
SAR_CHUNK = 140

RECEIPT_ID = "1A2B3C4D"
RECEIPT_TEXT = golden.RECEIPT_TEXT.decode("ascii")
VALIDITY_5_MIN = "000000000500000R"
"""Relative time, 5 minutes (§7.1.2)."""


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _submit(**fields: Any) -> pdu.SubmitSm:
    """A submit_sm from the bank's alphanumeric sender to a handset."""
    base: dict[str, Any] = {
        "sequence_number": 11,
        "service_type": "OTP",
        "source_addr_ton": 5,
        "source_addr": BANK,
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": HANDSET,
        "priority_flag": 1,
        "validity_period": VALIDITY_5_MIN,
        "registered_delivery": 1,
    }
    return pdu.SubmitSm(**(base | fields))


def _udh_parts() -> list[pdu.SubmitSm]:
    chunks = _chunks(LONG_UCS2, UDH_CHUNK)
    return [
        _submit(
            sequence_number=20 + number,
            esm_class=0x40,
            data_coding=8,
            short_message=bytes((5, 0, 3, UDH_REF, len(chunks), number)) + chunk,
        )
        for number, chunk in enumerate(chunks, 1)
    ]


def _sar_parts() -> list[pdu.SubmitSm]:
    chunks = _chunks(LONG_UCS2, SAR_CHUNK)
    return [
        _submit(
            sequence_number=30 + number,
            data_coding=8,
            short_message=chunk,
            tlvs={
                Tag.SAR_MSG_REF_NUM: SAR_REF,
                Tag.SAR_TOTAL_SEGMENTS: len(chunks),
                Tag.SAR_SEGMENT_SEQNUM: number,
            },
        )
        for number, chunk in enumerate(chunks, 1)
    ]


SHORT_GSM = _submit(short_message=OTP_GSM_OCTETS)
UDH_PARTS = _udh_parts()
SAR_PARTS = _sar_parts()
PAYLOAD = _submit(sequence_number=40, data_coding=8, tlvs={Tag.MESSAGE_PAYLOAD: LONG_UCS2})
RECEIPT = pdu.DeliverSm(
    sequence_number=50,
    source_addr_ton=1,
    source_addr_npi=1,
    source_addr=HANDSET,
    dest_addr_ton=5,
    destination_addr=BANK,
    esm_class=0x04,
    short_message=golden.RECEIPT_TEXT,
    tlvs={Tag.RECEIPTED_MESSAGE_ID: RECEIPT_ID, Tag.MESSAGE_STATE: 2},
)
_BIND_FIELDS: dict[str, Any] = {
    "sequence_number": 1,
    "system_id": "bank01",
    "password": "s3cret",
    "system_type": "OTP",
    "addr_ton": 1,
    "addr_npi": 1,
    "address_range": "^447",
}
_BIND_RESP_FIELDS: dict[str, Any] = {
    "sequence_number": 1,
    "system_id": "SMSC01",
    "tlvs": {Tag.SC_INTERFACE_VERSION: 0x34},
}
BINDS: list[pdu.Pdu] = [
    pdu.BindTransmitter(**_BIND_FIELDS),
    pdu.BindReceiver(**_BIND_FIELDS),
    pdu.BindTransceiver(**_BIND_FIELDS),
    pdu.BindTransmitterResp(**_BIND_RESP_FIELDS),
    pdu.BindReceiverResp(**_BIND_RESP_FIELDS),
    pdu.BindTransceiverResp(**_BIND_RESP_FIELDS),
]
SESSION: list[pdu.Pdu] = [
    pdu.EnquireLink(sequence_number=7),
    pdu.EnquireLinkResp(sequence_number=7),
    pdu.Unbind(sequence_number=8),
    pdu.UnbindResp(sequence_number=8),
    pdu.GenericNack(sequence_number=9, command_status=S.ESME_RINVCMDID),
]
RESPONSES: list[pdu.Pdu] = [
    pdu.SubmitSmResp(sequence_number=11, message_id=RECEIPT_ID),
    pdu.SubmitSmResp(sequence_number=12, command_status=S.ESME_RTHROTTLED),
    pdu.DeliverSmResp(sequence_number=50),
]


def _case_id(value: pdu.Pdu) -> str:
    name = CommandId(value.command_id).name.lower()
    if isinstance(value, pdu.SubmitSm):
        if Tag.MESSAGE_PAYLOAD in value.tlvs:
            return f"{name}-message_payload"
        if value.esm_class & 0x40:
            return f"{name}-udh-{value.short_message[5]}"
        if Tag.SAR_SEGMENT_SEQNUM in value.tlvs:
            return f"{name}-sar-{value.tlvs[Tag.SAR_SEGMENT_SEQNUM]}"
        return f"{name}-gsm"
    if isinstance(value, pdu.DeliverSm):
        return f"{name}-receipt"
    return f"{name}-{value.command_status:x}" if value.command_status else name


# --- smpplib -----------------------------------------------------------------

_SMPPLIB_TAG_NAMES = {code: name for name, code in smpplib.consts.OPTIONAL_PARAMS.items()}


class _FixedSequence:
    """The ``client`` smpplib takes its sequence_number from."""

    def __init__(self, sequence: int) -> None:
        self.sequence = sequence

    def next_sequence(self) -> int:
        return self.sequence


def smpplib_build(value: pdu.Pdu) -> Any:
    """smpplib's PDU object holding the same fields as ``value``."""
    fields = {f.name: getattr(value, f.name) for f in LAYOUTS[type(value)]}
    fields |= {_SMPPLIB_TAG_NAMES[tag]: tlv for tag, tlv in value.tlvs.items()}
    return smpplib.smpp.make_pdu(
        CommandId(value.command_id).name.lower(),
        client=_FixedSequence(value.sequence_number),
        status=value.command_status,
        **fields,
    )


def smpplib_read(wire: bytes, cls: type[pdu.Pdu]) -> pdu.Pdu:
    """Parse with smpplib and carry each of its attributes over to our type."""
    theirs = smpplib.smpp.parse_pdu(wire, client=_FixedSequence(0))
    fields: dict[str, Any] = {}
    for f in LAYOUTS[cls]:
        raw = getattr(theirs, f.name)
        if raw is None and f.kind in ("short_message", "cstring", "time"):
            raw = b""  # smpplib leaves absent fields None: a bodyless error response, sm_length 0
        fields[f.name] = raw.decode("latin-1") if f.kind in ("cstring", "time") else raw
    tlvs: dict[int, Any] = {}
    for name in theirs.params_order:
        tag = smpplib.consts.OPTIONAL_PARAMS.get(name)
        raw = getattr(theirs, name)
        if tag is None or raw is None:
            continue
        tlvs[tag] = raw.decode("latin-1") if SPECS[tag].kind is Kind.CSTRING else raw
    assert theirs.command == CommandId(cls.command_id).name.lower()
    return cls(sequence_number=theirs.sequence, command_status=theirs.status, tlvs=tlvs, **fields)


SMPPLIB_CASES: list[pdu.Pdu] = [
    *BINDS,
    SHORT_GSM,
    *UDH_PARTS,
    *SAR_PARTS,
    PAYLOAD,
    msgspec.structs.replace(RECEIPT, tlvs=RECEIPT.tlvs | {Tag.NETWORK_ERROR_CODE: b"\x03\x00\x00"}),
    *RESPONSES,
    *SESSION,
]


@pytest.mark.parametrize("value", SMPPLIB_CASES, ids=_case_id)
def test_smpplib_wire_decodes_to_our_value(value: pdu.Pdu) -> None:
    assert codec.decode(smpplib_build(value).generate()) == value


@pytest.mark.parametrize("value", SMPPLIB_CASES, ids=_case_id)
def test_smpplib_reads_our_wire_field_by_field(value: pdu.Pdu) -> None:
    assert smpplib_read(codec.encode(value), type(value)) == value


def _without_tlvs(cls: type[pdu.Pdu]) -> st.SearchStrategy[pdu.Pdu]:
    """Any value smpplib can carry: no TLVs, and binds at interface_version 3.4."""
    return pdus(cls).map(
        lambda value: msgspec.structs.replace(
            value,
            tlvs={},
            **(
                {"interface_version": 0x34}
                if "interface_version" in value.__struct_fields__
                else {}
            ),
        )
    )


@pytest.mark.parametrize(
    "cls",
    [pdu.BindTransceiver, pdu.SubmitSm, pdu.DeliverSm, pdu.SubmitSmResp],
    ids=lambda cls: cls.__name__,
)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_mandatory_fields_cross_with_smpplib(cls: type[pdu.Pdu], data: st.DataObject) -> None:
    value = data.draw(_without_tlvs(cls))
    assert smpplib_read(codec.encode(value), cls) == value
    assert codec.decode(smpplib_build(value).generate()) == value


# --- aiosmpplib ---------------------------------------------------------------


def aiosmpplib_read(wire: bytes) -> SmppMessage:
    header = SmppMessage.parse_header(wire)
    return MESSAGE_TYPE_MAP[header.smpp_command].from_pdu(wire, header, "gsm0338")


class AioCase(NamedTuple):
    ours: pdu.Pdu
    theirs: SmppMessage
    read_back: SmppMessage | None = None
    """What aiosmpplib reads from our wire when it is not ``theirs`` itself."""


def _aio_submit(sequence_num: int, **fields: Any) -> SubmitSm:
    base: dict[str, Any] = {
        "source": PhoneNumber(BANK, TON.ALPHANUMERIC, NPI.UNKNOWN),
        "destination": PhoneNumber(HANDSET, TON.INTERNATIONAL, NPI.ISDN),
        "service_type": "OTP",
        "priority_flag": 1,
        "validity_period": timedelta(minutes=5),
        "registered_delivery": 1,
    }
    return SubmitSm(sequence_num=sequence_num, **(base | fields))


def _aio_udh_cases() -> list[AioCase]:
    """aiosmpplib's own splitter makes the parts; its reader strips the UDH and
    reports the concatenation as sar_* parameters."""
    parts = split_sms_udh(LONG_TEXT, "ucs2", UDH_REF)
    cases = []
    for number, (ours, part) in enumerate(zip(UDH_PARTS, parts, strict=True), 1):
        text = part[6:].decode("utf-16-be")
        theirs = _aio_submit(ours.sequence_number, short_message=text, esm_class=0x40)
        theirs.encoding = "ucs2"
        theirs.set_encoded_message(part)
        sar = [
            OptionalParam(Tag.SAR_MSG_REF_NUM, UDH_REF),
            OptionalParam(Tag.SAR_SEGMENT_SEQNUM, number),
            OptionalParam(Tag.SAR_TOTAL_SEGMENTS, len(parts)),
        ]
        cases.append(AioCase(ours, theirs, dataclasses.replace(theirs, optional_params=sar)))
    return cases


def _aio_sar_cases() -> list[AioCase]:
    return [
        AioCase(
            ours,
            _aio_submit(
                ours.sequence_number,
                short_message=ours.short_message.decode("utf-16-be"),
                encoding="ucs2",
                optional_params=[OptionalParam(tag, value) for tag, value in ours.tlvs.items()],
            ),
        )
        for ours in SAR_PARTS
    ]


def _aio_binds() -> list[AioCase]:
    requests = (BindTransmitter, BindReceiver, BindTransceiver)
    responses = (BindTransmitterResp, BindReceiverResp, BindTransceiverResp)
    fields = {k: v for k, v in _BIND_FIELDS.items() if k != "sequence_number"}
    fields |= {"addr_ton": TON.INTERNATIONAL, "addr_npi": NPI.ISDN}
    cases = [
        AioCase(ours, cls(sequence_num=1, **fields))
        for ours, cls in zip(BINDS[:3], requests, strict=True)
    ]
    cases += [
        AioCase(ours, cls(sequence_num=1, system_id="SMSC01", sc_interface_version=0x34))
        for ours, cls in zip(BINDS[3:], responses, strict=True)
    ]
    return cases


def aiosmpplib_cases() -> list[AioCase]:
    session = (EnquireLink, EnquireLinkResp, Unbind, UnbindResp)
    receipt_params = [
        OptionalParam(Tag.RECEIPTED_MESSAGE_ID, RECEIPT_ID),
        OptionalParam(Tag.MESSAGE_STATE, 2),
    ]
    return [
        *_aio_binds(),
        AioCase(SHORT_GSM, _aio_submit(11, short_message=OTP_GSM_TEXT)),
        *_aio_udh_cases(),
        *_aio_sar_cases(),
        AioCase(PAYLOAD, _aio_submit(40, message_payload=LONG_TEXT, encoding="ucs2")),
        AioCase(
            RECEIPT,
            DeliverSm(
                sequence_num=50,
                short_message=RECEIPT_TEXT,
                source=PhoneNumber(HANDSET, TON.INTERNATIONAL, NPI.ISDN),
                destination=PhoneNumber(BANK, TON.ALPHANUMERIC, NPI.UNKNOWN),
                esm_class=0x04,
                registered_delivery=0,
                optional_params=receipt_params,
            ),
        ),
        AioCase(RESPONSES[0], SubmitSmResp(sequence_num=11, message_id=RECEIPT_ID)),
        AioCase(
            RESPONSES[1],
            SubmitSmResp(sequence_num=12, command_status=SmppCommandStatus.ESME_RTHROTTLED),
        ),
        AioCase(RESPONSES[2], DeliverSmResp(sequence_num=50)),
        *[
            AioCase(ours, cls(sequence_num=ours.sequence_number))
            for ours, cls in zip(SESSION[:4], session, strict=True)
        ],
        AioCase(
            SESSION[4],
            GenericNack(sequence_num=9, command_status=SmppCommandStatus.ESME_RINVCMDID),
        ),
    ]


def _aio_id(case: AioCase) -> str:
    return _case_id(case.ours)


@pytest.mark.parametrize("case", aiosmpplib_cases(), ids=_aio_id)
def test_aiosmpplib_wire_decodes_to_our_value(case: AioCase) -> None:
    assert codec.decode(case.theirs.pdu()) == case.ours


@pytest.mark.parametrize("case", aiosmpplib_cases(), ids=_aio_id)
def test_aiosmpplib_reads_our_wire_field_by_field(case: AioCase) -> None:
    expected = case.theirs if case.read_back is None else case.read_back
    assert aiosmpplib_read(codec.encode(case.ours)) == expected


def test_aiosmpplib_rebuilds_the_long_text_from_our_udh_parts() -> None:
    read = [aiosmpplib_read(codec.encode(part)) for part in UDH_PARTS]
    assert "".join(message.short_message for message in read) == LONG_TEXT


def test_aiosmpplib_parses_our_receipt() -> None:
    receipt = aiosmpplib_read(codec.encode(RECEIPT))
    assert isinstance(receipt, DeliverSm)
    assert receipt.is_receipt()
    parsed = receipt.parse_receipt()
    assert (parsed["id"], parsed["stat"], parsed["err"]) == (RECEIPT_ID, "DELIVRD", 0)


# --- golden -------------------------------------------------------------------


@pytest.mark.parametrize("name", golden.ROUND_TRIP)
def test_golden_pdu_encodes_to_its_bytes(name: str) -> None:
    wire, value = golden.ROUND_TRIP[name]
    assert codec.encode(value).hex() == wire.hex()
    assert codec.decode(wire) == value


@pytest.mark.parametrize("name", golden.DECODE_ONLY)
def test_golden_bodyless_error_response_decodes(name: str) -> None:
    wire, value = golden.DECODE_ONLY[name]
    assert codec.decode(wire) == value


@pytest.mark.parametrize("name", golden.ROUND_TRIP)
def test_golden_pdu_reads_the_same_in_smpplib(name: str) -> None:
    wire, value = golden.ROUND_TRIP[name]
    assert smpplib_read(wire, type(value)) == value
