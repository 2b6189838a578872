"""SMPP 3.4 protocol core, usable on its own as a library.

The codec (`encode`, `decode`), the PDU value types (`smpp.pdu`), the stream
framer, the sans-IO `Session`, text codecs and splitting (`smpp.text`,
`smpp.split`, `smpp.reassembly`), delivery receipts (`smpp.receipt`) and SMPP
times (`smpp.smpptime`). Only `smpp.aio` touches asyncio.
"""

from smpp.codec import decode, encode
from smpp.constants import CommandId, CommandStatus, EsmClass, Npi, RegisteredDelivery, Ton
from smpp.errors import FrameError, LocalProtocolError, RemoteProtocolError, SmppError
from smpp.framer import PduFramer
from smpp.session import Session, SessionPair
from smpp.state import Role, SessionState
from smpp.tlv import Tag

__all__ = [
    "CommandId",
    "CommandStatus",
    "EsmClass",
    "FrameError",
    "LocalProtocolError",
    "Npi",
    "PduFramer",
    "RegisteredDelivery",
    "RemoteProtocolError",
    "Role",
    "Session",
    "SessionPair",
    "SessionState",
    "SmppError",
    "Tag",
    "Ton",
    "decode",
    "encode",
]
