"""Golden PDUs: wire bytes assembled by hand, field by field, from the tables of
SMPP 3.4 §4 and §5.3, next to the value our codec must give for them.

Two come from published dumps rather than from us: the 60-octet submit_sm
of the SMPP article on Wikipedia and OpenMarket's SMPP v4 MT example. None is
produced by our encoder, so a wrong layout in the codec cannot hide here.
"""

from __future__ import annotations

from smpp import pdu
from smpp.constants import CommandStatus as S
from smpp.tlv import Tag

RECEIPT_TEXT = (
    b"id:1A2B3C4D sub:001 dlvrd:001 submit date:2401011230 done date:2401011231"
    b" stat:DELIVRD err:000 text:Code 482913"
)
"""A delivery receipt in the format of SMPP 3.4 Appendix B (111 octets)."""

ROUND_TRIP: dict[str, tuple[bytes, pdu.Pdu]] = {
    "enquire_link": (
        bytes.fromhex(
            "00000010"  # command_length 16 (§4.11.1: header only)
            "00000015"  # command_id enquire_link
            "00000000"  # command_status
            "00000001"  # sequence_number
        ),
        pdu.EnquireLink(sequence_number=1),
    ),
    "enquire_link_resp": (
        bytes.fromhex("00000010 80000015 00000000 00000001"),
        pdu.EnquireLinkResp(sequence_number=1),
    ),
    "unbind": (
        bytes.fromhex("00000010 00000006 00000000 00000002"),
        pdu.Unbind(sequence_number=2),
    ),
    "unbind_resp": (
        bytes.fromhex("00000010 80000006 00000000 00000002"),
        pdu.UnbindResp(sequence_number=2),
    ),
    "generic_nack": (
        bytes.fromhex(
            "00000010"  # command_length
            "80000000"  # command_id generic_nack (§4.3.1)
            "00000003"  # command_status ESME_RINVCMDID
            "00000009"  # sequence_number of the PDU being refused
        ),
        pdu.GenericNack(sequence_number=9, command_status=S.ESME_RINVCMDID),
    ),
    "bind_transmitter": (
        bytes.fromhex(
            "00000026 00000002 00000000 00000001"
            "62616e6b303100"  # system_id "bank01"
            "73336372657400"  # password "s3cret"
            "4f545000"  # system_type "OTP"
            "34"  # interface_version 3.4
            "01 01"  # addr_ton international, addr_npi ISDN
            "00"  # address_range ""
        ),
        pdu.BindTransmitter(
            sequence_number=1,
            system_id="bank01",
            password="s3cret",
            system_type="OTP",
            addr_ton=1,
            addr_npi=1,
        ),
    ),
    "bind_receiver": (
        bytes.fromhex(
            "00000026 00000001 00000000 0000000162616e6b303100 73336372657400 4f545000 34 01 01 00"
        ),
        pdu.BindReceiver(
            sequence_number=1,
            system_id="bank01",
            password="s3cret",
            system_type="OTP",
            addr_ton=1,
            addr_npi=1,
        ),
    ),
    "bind_transceiver": (
        bytes.fromhex(
            "0000002a 00000009 00000000 00000001"
            "62616e6b303100 73336372657400 4f545000 34 01 01"
            "5e34343700"  # address_range "^447"
        ),
        pdu.BindTransceiver(
            sequence_number=1,
            system_id="bank01",
            password="s3cret",
            system_type="OTP",
            addr_ton=1,
            addr_npi=1,
            address_range="^447",
        ),
    ),
    "bind_transceiver_resp": (
        bytes.fromhex(
            "0000001a 80000009 00000000 00000001"
            "534d534300"  # system_id "SMSC"
            "0210 0001 34"  # sc_interface_version 3.4 (§5.3.2.25)
        ),
        pdu.BindTransceiverResp(
            sequence_number=1, system_id="SMSC", tlvs={Tag.SC_INTERFACE_VERSION: 0x34}
        ),
    ),
    "submit_sm_wikipedia": (
        bytes.fromhex(
            "0000003c 00000004 00000000 00000005"
            "00"  # service_type ""
            "02 08 35353500"  # source_addr_ton 2, npi 8, "555"
            "01 01 35353535353535353500"  # dest_addr_ton 1, npi 1, "555555555"
            "00 00 00"  # esm_class, protocol_id, priority_flag
            "00 00"  # schedule_delivery_time "", validity_period ""
            "00 00 00 00"  # registered_delivery, replace_if_present, data_coding, default id
            "0f 48656c6c6f2077696b697065646961"  # sm_length 15, "Hello wikipedia"
        ),
        pdu.SubmitSm(
            sequence_number=5,
            source_addr_ton=2,
            source_addr_npi=8,
            source_addr="555",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="555555555",
            short_message=b"Hello wikipedia",
        ),
    ),
    "submit_sm_openmarket": (
        bytes.fromhex(
            "0000006b 00000004 00000000 0005c4a3"
            "4f4d563400"  # service_type "OMV4"
            "03 01 383033363200"  # short code "80362"
            "01 01 38313233343530303130303000"  # "812345001000"
            "00 00 00 00"  # esm_class, protocol_id, priority_flag, schedule ""
            "3138303130353132303030303030342b00"  # validity_period "180105120000004+"
            "01 00 00 00"  # registered_delivery final receipt, replace, data_coding, id
            "25"  # sm_length 37
        )
        + b"Reply Yes to opt in or No to opt out.",
        pdu.SubmitSm(
            sequence_number=0x5C4A3,
            service_type="OMV4",
            source_addr_ton=3,
            source_addr_npi=1,
            source_addr="80362",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="812345001000",
            validity_period="180105120000004+",
            registered_delivery=1,
            short_message=b"Reply Yes to opt in or No to opt out.",
        ),
    ),
    "submit_sm_sar": (
        bytes.fromhex(
            "00000049 00000004 00000000 00000010"
            "00 05 00 4d7942616e6b00"  # service_type "", source alphanumeric "MyBank"
            "01 01 34343737303039303031323300"  # destination "447700900123"
            "00 00 00 00 00"
            "01 00 08 00"  # registered_delivery 1, data_coding 8 (UCS-2)
            "06 041204300448"  # sm_length 6, "Ваш" in UCS-2
            "020c 0002 1234"  # sar_msg_ref_num (§5.3.2.22)
            "020e 0001 03"  # sar_total_segments
            "020f 0001 02"  # sar_segment_seqnum
        ),
        pdu.SubmitSm(
            sequence_number=0x10,
            source_addr_ton=5,
            source_addr="MyBank",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="447700900123",
            registered_delivery=1,
            data_coding=8,
            short_message="Ваш".encode("utf-16-be"),
            tlvs={
                Tag.SAR_MSG_REF_NUM: 0x1234,
                Tag.SAR_TOTAL_SEGMENTS: 3,
                Tag.SAR_SEGMENT_SEQNUM: 2,
            },
        ),
    ),
    "submit_sm_message_payload": (
        bytes.fromhex(
            "0000004b 00000004 00000000 00000011"
            "00 05 00 4d7942616e6b00 01 01 34343737303039303031323300"
            "00 00 00 00 00 01 00 08 00"
            "00"  # sm_length 0: the text travels in message_payload (§5.3.2.32)
            "0424 0014 041a 043e 0434 0020 0034 0038 0032 0039 0031 0033"  # "Код 482913"
        ),
        pdu.SubmitSm(
            sequence_number=0x11,
            source_addr_ton=5,
            source_addr="MyBank",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="447700900123",
            registered_delivery=1,
            data_coding=8,
            tlvs={Tag.MESSAGE_PAYLOAD: "Код 482913".encode("utf-16-be")},
        ),
    ),
    "submit_sm_resp": (
        bytes.fromhex(
            "00000019 80000004 00000000 00000005314132423343344400"  # message_id "1A2B3C4D"
        ),
        pdu.SubmitSmResp(sequence_number=5, message_id="1A2B3C4D"),
    ),
    "deliver_sm_receipt": (
        bytes.fromhex(
            "000000b4 00000005 00000000 0000002a"
            "00"  # service_type ""
            "01 01 34343737303039303031323300"  # source: the handset "447700900123"
            "05 00 4d7942616e6b00"  # destination: the original sender "MyBank"
            "04 00 00"  # esm_class: SMSC delivery receipt (§5.2.12)
            "00 00 00 00 00 00"
            "6f"  # sm_length 111
        )
        + RECEIPT_TEXT
        + bytes.fromhex(
            "001e 0009 314132423343344400"  # receipted_message_id "1A2B3C4D" (§5.3.2.12)
            "0427 0001 02"  # message_state DELIVERED (§5.3.2.35)
        ),
        pdu.DeliverSm(
            sequence_number=0x2A,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="447700900123",
            dest_addr_ton=5,
            destination_addr="MyBank",
            esm_class=0x04,
            short_message=RECEIPT_TEXT,
            tlvs={Tag.RECEIPTED_MESSAGE_ID: "1A2B3C4D", Tag.MESSAGE_STATE: 2},
        ),
    ),
    "deliver_sm_resp": (
        bytes.fromhex(
            "00000011 80000005 00000000 0000002a00"  # message_id: unused, set to NULL (§4.6.2)
        ),
        pdu.DeliverSmResp(sequence_number=0x2A),
    ),
}
"""Each wire decodes to its value and the value encodes to exactly that wire."""

DECODE_ONLY: dict[str, tuple[bytes, pdu.Pdu]] = {
    "bind_transmitter_resp_refused": (
        bytes.fromhex("00000010 80000002 0000000e 00000001"),
        pdu.BindTransmitterResp(sequence_number=1, command_status=S.ESME_RINVPASWD),
    ),
    "submit_sm_resp_throttled": (
        bytes.fromhex("00000010 80000004 00000058 00000005"),
        pdu.SubmitSmResp(sequence_number=5, command_status=S.ESME_RTHROTTLED),
    ),
}
"""Error responses without a body, as §4.1.2 and §4.4.2 describe them. SMPP 5.0
sends an empty body (one NUL) instead, which is what our encoder writes; a
receiver has to accept both forms."""
