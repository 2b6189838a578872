"""PDU value objects: one frozen Struct per SMPP 3.4 operation (§4).

Field names are the spec's. C-octet strings are ``str`` (without their NUL),
octet strings ``bytes``, integers ``int``; ``tlvs`` maps optional parameter tags
to typed values (see `smpp.tlv`). ``sequence_number`` and ``command_status``
come from the header; the codec fills in command_length and command_id.
Construction does not validate: `smpp.codec.encode` checks every field against
the spec's limits, and `smpp.codec.decode` builds only valid PDUs.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import msgspec

from smpp.constants import INTERFACE_VERSION_34, CommandId
from smpp.tlv import TlvValue


class Pdu(msgspec.Struct, frozen=True, gc=False):
    """Fields every PDU has."""

    sequence_number: int = 0
    command_status: int = 0
    tlvs: dict[int, TlvValue] = msgspec.field(default_factory=dict)

    command_id: ClassVar[CommandId]
    response_class: ClassVar[type[Pdu] | None] = None

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & 0x80000000)


class GenericNack(Pdu, frozen=True, gc=False):
    command_id = CommandId.GENERIC_NACK


class _Bind(Pdu, frozen=True, gc=False):
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


class _BindResp(Pdu, frozen=True, gc=False):
    system_id: str = ""


class BindReceiverResp(_BindResp, frozen=True, gc=False):
    command_id = CommandId.BIND_RECEIVER_RESP


class BindReceiver(_Bind, frozen=True, gc=False):
    command_id = CommandId.BIND_RECEIVER
    response_class = BindReceiverResp


class BindTransmitterResp(_BindResp, frozen=True, gc=False):
    command_id = CommandId.BIND_TRANSMITTER_RESP


class BindTransmitter(_Bind, frozen=True, gc=False):
    command_id = CommandId.BIND_TRANSMITTER
    response_class = BindTransmitterResp


class BindTransceiverResp(_BindResp, frozen=True, gc=False):
    command_id = CommandId.BIND_TRANSCEIVER_RESP


class BindTransceiver(_Bind, frozen=True, gc=False):
    command_id = CommandId.BIND_TRANSCEIVER
    response_class = BindTransceiverResp


class Outbind(Pdu, frozen=True, gc=False):
    command_id = CommandId.OUTBIND
    system_id: str = ""
    password: str = ""


class UnbindResp(Pdu, frozen=True, gc=False):
    command_id = CommandId.UNBIND_RESP


class Unbind(Pdu, frozen=True, gc=False):
    command_id = CommandId.UNBIND
    response_class = UnbindResp


class EnquireLinkResp(Pdu, frozen=True, gc=False):
    command_id = CommandId.ENQUIRE_LINK_RESP


class EnquireLink(Pdu, frozen=True, gc=False):
    command_id = CommandId.ENQUIRE_LINK
    response_class = EnquireLinkResp


class _ShortMessage(Pdu, frozen=True, gc=False):
    """The body shared by submit_sm and deliver_sm (§4.4.1, §4.6.1)."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


class _MessageIdResp(Pdu, frozen=True, gc=False):
    message_id: str = ""


class SubmitSmResp(_MessageIdResp, frozen=True, gc=False):
    command_id = CommandId.SUBMIT_SM_RESP


class SubmitSm(_ShortMessage, frozen=True, gc=False):
    command_id = CommandId.SUBMIT_SM
    response_class = SubmitSmResp


class DeliverSmResp(_MessageIdResp, frozen=True, gc=False):
    command_id = CommandId.DELIVER_SM_RESP


class DeliverSm(_ShortMessage, frozen=True, gc=False):
    command_id = CommandId.DELIVER_SM
    response_class = DeliverSmResp


class DataSmResp(_MessageIdResp, frozen=True, gc=False):
    command_id = CommandId.DATA_SM_RESP


class DataSm(Pdu, frozen=True, gc=False):
    """§4.7.1: addresses up to 64 characters, the message travels in TLVs."""

    command_id = CommandId.DATA_SM
    response_class = DataSmResp
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0


class SmeAddress(msgspec.Struct, frozen=True, gc=False):
    """A dest_address of submit_multi with dest_flag 1 (§4.5.1.1)."""

    ton: int = 0
    npi: int = 0
    address: str = ""


class DistributionList(msgspec.Struct, frozen=True, gc=False):
    """A dest_address of submit_multi with dest_flag 2 (§4.5.1.2)."""

    name: str = ""


class UnsuccessSme(msgspec.Struct, frozen=True, gc=False):
    """One entry of submit_multi_resp's unsuccess_sme list (§4.5.2.1)."""

    ton: int = 0
    npi: int = 0
    address: str = ""
    error_status_code: int = 0


class SubmitMultiResp(Pdu, frozen=True, gc=False):
    command_id = CommandId.SUBMIT_MULTI_RESP
    message_id: str = ""
    unsuccess_sme: tuple[UnsuccessSme, ...] = ()


class SubmitMulti(Pdu, frozen=True, gc=False):
    command_id = CommandId.SUBMIT_MULTI
    response_class = SubmitMultiResp
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addresses: tuple[SmeAddress | DistributionList, ...] = ()
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


class QuerySmResp(Pdu, frozen=True, gc=False):
    command_id = CommandId.QUERY_SM_RESP
    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


class QuerySm(Pdu, frozen=True, gc=False):
    command_id = CommandId.QUERY_SM
    response_class = QuerySmResp
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""


class CancelSmResp(Pdu, frozen=True, gc=False):
    command_id = CommandId.CANCEL_SM_RESP


class CancelSm(Pdu, frozen=True, gc=False):
    command_id = CommandId.CANCEL_SM
    response_class = CancelSmResp
    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""


class ReplaceSmResp(Pdu, frozen=True, gc=False):
    command_id = CommandId.REPLACE_SM_RESP


class ReplaceSm(Pdu, frozen=True, gc=False):
    command_id = CommandId.REPLACE_SM
    response_class = ReplaceSmResp
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""


class AlertNotification(Pdu, frozen=True, gc=False):
    command_id = CommandId.ALERT_NOTIFICATION
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""


def response_to(request: Pdu, command_status: int = 0, **fields: object) -> Pdu:
    """The response PDU answering ``request``: same sequence_number (§2.5)."""
    response_class = request.response_class
    if response_class is None:
        raise TypeError(f"{type(request).__name__} has no response")
    if not fields:
        # Positional and without ``**`` packing: 0.20 µs instead of 0.37.
        return response_class(request.sequence_number, command_status)
    return response_class(
        sequence_number=request.sequence_number, command_status=command_status, **fields
    )


_SHARED_WITH_DATA_SM = (
    "service_type", "source_addr_ton", "source_addr_npi", "source_addr", "dest_addr_ton",
    "dest_addr_npi", "destination_addr", "esm_class", "registered_delivery", "data_coding",
    "tlvs",
)  # fmt: skip


_Message = TypeVar("_Message", "SubmitSm", "DeliverSm")


def from_data_sm(target: type[_Message], request: DataSm, **fields: Any) -> _Message:
    """The submit_sm (§4.4) or deliver_sm (§4.6) a data_sm (§4.7) stands for:
    the fields they share, copied, and ``fields`` (its text, which a data_sm
    keeps in message_payload, for one)."""
    shared = {name: getattr(request, name) for name in _SHARED_WITH_DATA_SM}
    return target(**{**shared, **fields})


PDU_CLASSES: tuple[type[Pdu], ...] = (
    GenericNack,
    BindReceiver,
    BindReceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    BindTransceiver,
    BindTransceiverResp,
    Outbind,
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    SubmitSm,
    SubmitSmResp,
    DeliverSm,
    DeliverSmResp,
    DataSm,
    DataSmResp,
    SubmitMulti,
    SubmitMultiResp,
    QuerySm,
    QuerySmResp,
    CancelSm,
    CancelSmResp,
    ReplaceSm,
    ReplaceSmResp,
    AlertNotification,
)
