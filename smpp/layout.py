"""The wire layout of every PDU body, as data (§4).

Each layout is the ordered list of mandatory fields with their type, maximum
size (C-octet strings count their NUL, as the spec's tables do) and the
command_status a receiver answers with when that field is invalid. The codec
compiles these tables into straight-line encode/decode functions.
"""

from __future__ import annotations

from typing import NamedTuple

from smpp import pdu
from smpp.constants import CommandStatus as S


class Field(NamedTuple):
    name: str
    kind: str
    """One of: u8, cstring, time, short_message, dest_addresses, unsuccess_sme."""
    size: int = 0
    status: S = S.ESME_RSYSERR


def u8(name: str, status: S = S.ESME_RSYSERR) -> Field:
    return Field(name, "u8", 1, status)


def cstring(name: str, size: int, status: S) -> Field:
    return Field(name, "cstring", size, status)


def time(name: str, status: S) -> Field:
    """A C-octet string of 17: empty, or 16 characters (§7.1.1)."""
    return Field(name, "time", 17, status)


SHORT_MESSAGE = Field("short_message", "short_message", 254, S.ESME_RINVMSGLEN)

_BIND = (
    cstring("system_id", 16, S.ESME_RINVSYSID),
    cstring("password", 9, S.ESME_RINVPASWD),
    cstring("system_type", 13, S.ESME_RINVSYSTYP),
    u8("interface_version"),
    u8("addr_ton", S.ESME_RINVSRCTON),
    u8("addr_npi", S.ESME_RINVSRCNPI),
    cstring("address_range", 41, S.ESME_RBINDFAIL),
)
_BIND_RESP = (cstring("system_id", 16, S.ESME_RINVSYSID),)
_MESSAGE_ID_RESP = (cstring("message_id", 65, S.ESME_RINVMSGID),)


def _source(size: int) -> tuple[Field, ...]:
    return (
        u8("source_addr_ton", S.ESME_RINVSRCTON),
        u8("source_addr_npi", S.ESME_RINVSRCNPI),
        cstring("source_addr", size, S.ESME_RINVSRCADR),
    )


def _dest(size: int) -> tuple[Field, ...]:
    return (
        u8("dest_addr_ton", S.ESME_RINVDSTTON),
        u8("dest_addr_npi", S.ESME_RINVDSTNPI),
        cstring("destination_addr", size, S.ESME_RINVDSTADR),
    )


_SERVICE_TYPE = cstring("service_type", 6, S.ESME_RINVSERTYP)
_MESSAGE_ID = cstring("message_id", 65, S.ESME_RINVMSGID)
_SCHEDULE = time("schedule_delivery_time", S.ESME_RINVSCHED)
_VALIDITY = time("validity_period", S.ESME_RINVEXPIRY)
_REGISTERED = u8("registered_delivery", S.ESME_RINVREGDLVFLG)
_MESSAGE_TAIL = (
    u8("esm_class", S.ESME_RINVESMCLASS),
    u8("protocol_id"),
    u8("priority_flag", S.ESME_RINVPRTFLG),
    _SCHEDULE,
    _VALIDITY,
    _REGISTERED,
    u8("replace_if_present_flag", S.ESME_RINVREPFLAG),
    u8("data_coding"),
    u8("sm_default_msg_id", S.ESME_RINVDFTMSGID),
    SHORT_MESSAGE,
)
_SHORT_MESSAGE_BODY = (_SERVICE_TYPE, *_source(21), *_dest(21), *_MESSAGE_TAIL)

LAYOUTS: dict[type[pdu.Pdu], tuple[Field, ...]] = {
    pdu.GenericNack: (),
    pdu.BindReceiver: _BIND,
    pdu.BindTransmitter: _BIND,
    pdu.BindTransceiver: _BIND,
    pdu.BindReceiverResp: _BIND_RESP,
    pdu.BindTransmitterResp: _BIND_RESP,
    pdu.BindTransceiverResp: _BIND_RESP,
    pdu.Outbind: (
        cstring("system_id", 16, S.ESME_RINVSYSID),
        cstring("password", 9, S.ESME_RINVPASWD),
    ),
    pdu.Unbind: (),
    pdu.UnbindResp: (),
    pdu.EnquireLink: (),
    pdu.EnquireLinkResp: (),
    pdu.SubmitSm: _SHORT_MESSAGE_BODY,
    pdu.SubmitSmResp: _MESSAGE_ID_RESP,
    pdu.DeliverSm: _SHORT_MESSAGE_BODY,
    pdu.DeliverSmResp: _MESSAGE_ID_RESP,
    pdu.DataSm: (
        _SERVICE_TYPE,
        *_source(65),
        *_dest(65),
        u8("esm_class", S.ESME_RINVESMCLASS),
        _REGISTERED,
        u8("data_coding"),
    ),
    pdu.DataSmResp: _MESSAGE_ID_RESP,
    pdu.SubmitMulti: (
        _SERVICE_TYPE,
        *_source(21),
        Field("dest_addresses", "dest_addresses", 254, S.ESME_RINVNUMDESTS),
        *_MESSAGE_TAIL,
    ),
    pdu.SubmitMultiResp: (
        _MESSAGE_ID,
        Field("unsuccess_sme", "unsuccess_sme", 255, S.ESME_RSYSERR),
    ),
    pdu.QuerySm: (_MESSAGE_ID, *_source(21)),
    pdu.QuerySmResp: (
        _MESSAGE_ID,
        time("final_date", S.ESME_RSYSERR),
        u8("message_state"),
        u8("error_code"),
    ),
    pdu.CancelSm: (_SERVICE_TYPE, _MESSAGE_ID, *_source(21), *_dest(21)),
    pdu.CancelSmResp: (),
    pdu.ReplaceSm: (
        _MESSAGE_ID,
        *_source(21),
        _SCHEDULE,
        _VALIDITY,
        _REGISTERED,
        u8("sm_default_msg_id", S.ESME_RINVDFTMSGID),
        SHORT_MESSAGE,
    ),
    pdu.ReplaceSmResp: (),
    pdu.AlertNotification: (
        *_source(65),
        u8("esme_addr_ton", S.ESME_RINVDSTTON),
        u8("esme_addr_npi", S.ESME_RINVDSTNPI),
        cstring("esme_addr", 65, S.ESME_RINVDSTADR),
    ),
}
