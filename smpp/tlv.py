"""Optional parameters (TLVs) of SMPP 3.4 §5.3, with the cheap ones of 5.0.

A PDU keeps its TLVs in a dict from tag to a typed value: ``int`` for integer
tags, ``str`` for C-octet-string tags, ``bytes`` for octet-string tags and for
every tag we do not know. Unknown tags are therefore kept and re-encoded
byte-for-byte, as §3.2.4 asks of a receiver that meets an unsupported tag.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

TlvValue = int | str | bytes


class Tag(IntEnum):
    """Optional parameter tags (§5.3.2, Table 5-3; 5.0 tags marked)."""

    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    CONGESTION_STATE = 0x0428  # 5.0
    USSD_SERVICE_OP = 0x0501
    DEST_ADDR_NP_INFORMATION = 0x0606  # 5.0
    DEST_ADDR_NP_RESOLUTION = 0x0607  # 5.0
    BILLING_IDENTIFICATION = 0x060B  # 5.0
    DEST_NETWORK_ID = 0x060D  # 5.0
    SOURCE_NETWORK_ID = 0x060E  # 5.0
    SOURCE_NODE_ID = 0x060F  # 5.0
    DEST_NODE_ID = 0x0610  # 5.0
    DEST_ADDR_NP_COUNTRY = 0x0613  # 5.0
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383


class Kind(IntEnum):
    """How a tag's value is typed."""

    INT = 1
    CSTRING = 2
    OCTETS = 3


class TlvSpec(NamedTuple):
    """Type and allowed value length (octets on the wire) of one tag."""

    kind: Kind
    min_length: int
    max_length: int


def _int(size: int) -> TlvSpec:
    return TlvSpec(Kind.INT, size, size)


def _cstring(max_length: int) -> TlvSpec:
    return TlvSpec(Kind.CSTRING, 1, max_length)


def _octets(min_length: int, max_length: int) -> TlvSpec:
    return TlvSpec(Kind.OCTETS, min_length, max_length)


SPECS: dict[int, TlvSpec] = {
    Tag.DEST_ADDR_SUBUNIT: _int(1),
    Tag.DEST_NETWORK_TYPE: _int(1),
    Tag.DEST_BEARER_TYPE: _int(1),
    Tag.DEST_TELEMATICS_ID: _int(2),
    Tag.SOURCE_ADDR_SUBUNIT: _int(1),
    Tag.SOURCE_NETWORK_TYPE: _int(1),
    Tag.SOURCE_BEARER_TYPE: _int(1),
    Tag.SOURCE_TELEMATICS_ID: _int(1),
    Tag.QOS_TIME_TO_LIVE: _int(4),
    Tag.PAYLOAD_TYPE: _int(1),
    Tag.ADDITIONAL_STATUS_INFO_TEXT: _cstring(256),
    Tag.RECEIPTED_MESSAGE_ID: _cstring(65),
    Tag.MS_MSG_WAIT_FACILITIES: _int(1),
    Tag.PRIVACY_INDICATOR: _int(1),
    Tag.SOURCE_SUBADDRESS: _octets(2, 23),
    Tag.DEST_SUBADDRESS: _octets(2, 23),
    Tag.USER_MESSAGE_REFERENCE: _int(2),
    Tag.USER_RESPONSE_CODE: _int(1),
    Tag.SOURCE_PORT: _int(2),
    Tag.DESTINATION_PORT: _int(2),
    Tag.SAR_MSG_REF_NUM: _int(2),
    Tag.LANGUAGE_INDICATOR: _int(1),
    Tag.SAR_TOTAL_SEGMENTS: _int(1),
    Tag.SAR_SEGMENT_SEQNUM: _int(1),
    Tag.SC_INTERFACE_VERSION: _int(1),
    Tag.CALLBACK_NUM_PRES_IND: _int(1),
    Tag.CALLBACK_NUM_ATAG: _octets(0, 65),
    Tag.NUMBER_OF_MESSAGES: _int(1),
    Tag.CALLBACK_NUM: _octets(4, 19),
    Tag.DPF_RESULT: _int(1),
    Tag.SET_DPF: _int(1),
    Tag.MS_AVAILABILITY_STATUS: _int(1),
    Tag.NETWORK_ERROR_CODE: _octets(3, 3),
    Tag.MESSAGE_PAYLOAD: _octets(0, 0xFFFF),
    Tag.DELIVERY_FAILURE_REASON: _int(1),
    Tag.MORE_MESSAGES_TO_SEND: _int(1),
    Tag.MESSAGE_STATE: _int(1),
    Tag.CONGESTION_STATE: _int(1),
    Tag.USSD_SERVICE_OP: _int(1),
    Tag.DEST_ADDR_NP_INFORMATION: _octets(10, 10),
    Tag.DEST_ADDR_NP_RESOLUTION: _int(1),
    Tag.BILLING_IDENTIFICATION: _octets(1, 1024),
    Tag.DEST_NETWORK_ID: _cstring(65),
    Tag.SOURCE_NETWORK_ID: _cstring(65),
    Tag.SOURCE_NODE_ID: _octets(6, 6),
    Tag.DEST_NODE_ID: _octets(6, 6),
    Tag.DEST_ADDR_NP_COUNTRY: _octets(5, 5),
    Tag.DISPLAY_TIME: _int(1),
    Tag.SMS_SIGNAL: _int(2),
    Tag.MS_VALIDITY: _int(1),
    Tag.ALERT_ON_MESSAGE_DELIVERY: _octets(0, 1),
    Tag.ITS_REPLY_TYPE: _int(1),
    Tag.ITS_SESSION_INFO: _octets(2, 2),
}
