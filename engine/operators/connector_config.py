"""What an operator connector needs to know: where, who, how many, how fast.

One `ConnectorConfig` per operator account, decoded from the TOML config with
`msgspec.convert`, which checks every bound below and reports the field at
fault. Lengths follow the bind PDU fields of SMPP 3.4 §4.1.1 (C-octet strings
whose maximum sizes include the NUL).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from engine.messages.receipt_ids import ReceiptIdRelation, ReceiptIdSource
from engine.operators.error_map import ErrorMap, StatusSpec

BindMode = Literal["transmitter", "transceiver", "receiver"]
"""transmitter sends only; receiver only receives receipts and MO; transceiver both (§2.2)."""

SplitPolicy = Literal["udh8", "udh16", "sar", "payload"]
"""How a message longer than one part goes to this operator: concatenation UDH
with an 8- or 16-bit reference (3GPP TS 23.040 §9.2.3.24.1/.8), the SAR TLVs
(SMPP 3.4 §5.3.2.22-24), or whole in message_payload (§5.3.2.32)."""

DefaultAlphabet = Literal["gsm", "latin-1"]
"""What data_coding 0 means at this operator's SMSC (SMPP 3.4 §5.2.19)."""

_Seconds = Annotated[float, Meta(gt=0, le=86_400)]
_TonOrNpi = Annotated[int, Meta(ge=0, le=255)]
_Share = Annotated[float, Meta(ge=0, le=1)]


class ConnectorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One operator connection: N binds of one account at one SMSC."""

    id: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$(?!\n)")]
    host: Annotated[str, Meta(min_length=1, max_length=253)]
    port: Annotated[int, Meta(ge=1, le=65_535)] = 2775
    system_id: Annotated[str, Meta(min_length=1, max_length=15)]
    password: Annotated[str, Meta(max_length=8)] = ""
    system_type: Annotated[str, Meta(max_length=12)] = ""
    address_range: Annotated[str, Meta(max_length=40)] = ""
    bind: BindMode = "transceiver"
    binds: Annotated[int, Meta(ge=1, le=64)] = 1
    """Sessions kept up at once; operators cap it per account."""
    window: Annotated[int, Meta(ge=1, le=1_000)] = 10
    """submit_sm awaiting their response, per bind."""
    throughput: Annotated[float, Meta(gt=0, le=100_000)] = 50.0
    """submit_sm per second for the whole connector, every bind together."""
    burst: Annotated[float, Meta(ge=1, le=100_000)] | None = None
    """submit_sm that may leave back to back after a quiet spell; by default a
    tenth of a second's worth (at least one), which keeps any one second
    within the contract."""
    enquire_link_interval: _Seconds = 30.0
    inactivity_timeout: _Seconds = 120.0
    response_timeout: _Seconds = 10.0
    connect_timeout: _Seconds = 10.0
    """For the TCP connection and the bind response together."""
    reconnect_delay: _Seconds = 1.0
    """Backoff after the first failed connect; doubles up to ``reconnect_delay_max``."""
    reconnect_delay_max: _Seconds = 60.0
    retry_delay: _Seconds = 1.0
    """Backoff after the first temporary error of a message; doubles up to the max."""
    retry_delay_max: _Seconds = 30.0
    max_submit_attempts: Annotated[int, Meta(ge=1, le=100)] = 3
    """Tries on this connector after temporary errors before the pipeline fails
    over; throttling answers never count (`engine.operators.error_map`)."""
    temporary_errors: tuple[StatusSpec, ...] = ()
    """command_status codes (integers or ESME_* names) this operator means as
    "try again later", besides ESME_RSYSERR and ESME_RX_T_APPN."""
    throttling_errors: tuple[StatusSpec, ...] = ()
    """Codes meaning "slower", besides ESME_RTHROTTLED and ESME_RMSGQFUL."""
    permanent_errors: tuple[StatusSpec, ...] = ()
    """Codes that fail the message at once though a default calls them
    temporary or throttling; a code neither listed nor a default is permanent."""
    throttle_decrease: Annotated[float, Meta(gt=0, lt=1)] = 0.5
    """The pace is multiplied by this when the operator throttles."""
    throttle_interval: Annotated[float, Meta(ge=0, le=3_600)] = 1.0
    """Seconds between two decreases at most: a window of throttled answers
    to what left at the old pace lowers it once."""
    throttle_recovery: _Seconds = 10.0
    """Seconds of OK answers for the pace to climb from ``throttle_floor``
    back to ``throughput``."""
    throttle_floor: Annotated[float, Meta(gt=0, le=100_000)] = 1.0
    """submit_sm per second the pace never drops below (at most ``throughput``)."""
    source_addr_ton: _TonOrNpi = 0
    """Put on messages whose source TON and NPI are both 0 (unknown)."""
    source_addr_npi: _TonOrNpi = 0
    default_alphabet: DefaultAlphabet = "gsm"
    """When "latin-1", GSM text (data_coding 0) is re-encoded for the SMSC."""
    split: SplitPolicy = "udh8"
    queue_depth: Annotated[int, Meta(ge=1, le=10_000_000)] = 100_000
    """Messages the connector's scheduler holds before refusing more."""
    receipt_id: ReceiptIdRelation = "auto"
    """How this operator's receipt ids relate to its submit_sm_resp ids
    (`engine.messages.receipt_ids`): "auto" matches the same id in any case and
    without leading zeros, then hex read as decimal and decimal as hex."""
    receipt_id_source: ReceiptIdSource = "tlv"
    """Which id wins when a receipt's receipted_message_id TLV and its text's
    ``id:`` disagree ("tlv" or "text"); the other is tried when it matches nothing."""
    health_window: Annotated[float, Meta(ge=1, le=86_400)] = 300.0
    """Seconds of recent answers and receipts the health figures cover
    (`engine.operators.health`; docs/operators.md)."""
    health_min_samples: Annotated[int, Meta(ge=1, le=1_000_000)] = 50
    """submit_sm answers (or final receipts, for the delivery ratio) a
    figure needs before it can take the connector out of routing."""
    health_max_error_rate: _Share = 0.5
    """Errors (throttling aside) and timeouts per submit_sm above which the
    connector leaves routing; 1.0 never."""
    health_max_throttle_rate: _Share = 1.0
    """Throttling answers per submit_sm above which it leaves routing; 1.0 never."""
    health_min_delivery_ratio: _Share = 0.0
    """Delivered per final receipt below which it leaves routing; 0.0 never."""
    health_probe_interval: _Seconds = 60.0
    """Seconds out of routing before a trial lets traffic back in."""

    def __post_init__(self) -> None:
        if self.reconnect_delay > self.reconnect_delay_max:
            raise ValueError("reconnect_delay must not exceed reconnect_delay_max")
        if self.retry_delay > self.retry_delay_max:
            raise ValueError("retry_delay must not exceed retry_delay_max")
        if self.enquire_link_interval >= self.inactivity_timeout:
            raise ValueError("enquire_link_interval must be shorter than inactivity_timeout")
        self.error_map()  # refuses unknown names and a status under two kinds

    def error_map(self) -> ErrorMap:
        return ErrorMap(
            temporary=self.temporary_errors,
            throttling=self.throttling_errors,
            permanent=self.permanent_errors,
        )

    @property
    def bucket_burst(self) -> float:
        return self.burst if self.burst is not None else max(1.0, self.throughput / 10)

    @property
    def transmits(self) -> bool:
        return self.bind != "receiver"
