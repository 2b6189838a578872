"""Our receipt deliver_sm to a customer: addresses and TON/NPI swapped
(§5.2.12), the id we answered, and ``text:`` with the first 20 characters of
the message read by its data_coding; and which bind it goes to."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import pytest

from engine.customers.accounts import BindRegistry
from engine.customers.receipts import receipt_pdu, submitted_part, text_preview
from engine.messages.message import Callback, MtMessage
from engine.messages.receipt_map import SubmittedPart
from smpp import gsm
from smpp.constants import EsmClass
from smpp.receipt import MessageState, parse_receipt
from smpp.state import SessionState
from smpp.text import DataCoding
from smpp.tlv import Tag

SUBMITTED = 1_767_225_600.0


def message(text: bytes = b"Your code is 482913", **fields: object) -> MtMessage:
    settings: dict[str, object] = {
        "id": "1234567890123456789",
        "account": "bank",
        "source_addr": "MyBank",
        "source_addr_ton": 5,
        "source_addr_npi": 0,
        "destination_addr": "33612345678",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "registered_delivery": 1,
        "user_data": text,
        **fields,
    }
    return MtMessage(**settings)  # type: ignore[arg-type]


def test_the_receipt_comes_from_the_handset_to_the_sender() -> None:
    part = submitted_part(message(), SUBMITTED)
    receipt = receipt_pdu(part, MessageState.DELIVERED, "000")
    assert (receipt.source_addr, receipt.source_addr_ton, receipt.source_addr_npi) == (
        "33612345678", 1, 1
    )  # fmt: skip
    assert (receipt.destination_addr, receipt.dest_addr_ton, receipt.dest_addr_npi) == (
        "MyBank", 5, 0
    )  # fmt: skip
    assert receipt.esm_class == EsmClass.DELIVERY_RECEIPT and receipt.data_coding == 0
    assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == "1234567890123456789"
    parsed = parse_receipt(receipt.short_message)
    assert parsed is not None
    assert (parsed.id, parsed.stat, parsed.text) == (
        "1234567890123456789", "DELIVRD", "Your code is 482913"
    )  # fmt: skip


def test_an_intermediate_state_is_a_notification() -> None:
    receipt = receipt_pdu(submitted_part(message(), SUBMITTED), MessageState.ENROUTE, "000")
    assert receipt.esm_class == EsmClass.INTERMEDIATE_NOTIFICATION


PREVIEWS = {
    "gsm escapes": (gsm.encode("Pay €5 @ MyBank: code 482913"), 0, 0, "Pay ?5 @ MyBank: cod"),
    "latin-1": ("Café crème brûlée à 5".encode("latin-1"), 3, 0, "Café crème brûlée à "),
    "ucs2 cyrillic and emoji": ("Код 🔐 482913".encode("utf-16-be"), 8, 0, "??? ? 482913"),
    "binary": (b"\x00\x01\x02\xff", 4, 0, ""),
    "own udh": (b"\x05\x00\x03\x2a\x02\x01" + gsm.encode("Part one of two"), 0, 0x40,
                "Part one of two"),
    "control characters": (b"Line one\nLine\ttwo\x7f", 3, 0, "Line one Line two?"),
    "empty": (b"", 0, 0, ""),
}  # fmt: skip
"""user_data, data_coding, esm_class, and what ``text:`` shows."""


@pytest.mark.parametrize("case", PREVIEWS)
def test_the_preview_reads_the_text_by_its_data_coding(case: str) -> None:
    user_data, data_coding, esm_class, shown = PREVIEWS[case]
    preview = text_preview(message(user_data, data_coding=data_coding, esm_class=esm_class))
    assert preview == shown


def test_a_long_ucs2_message_shows_its_first_20_characters() -> None:
    text = "🏦" * 5 + "Ваш код подтверждения 482913" * 10
    preview = text_preview(message(text.encode("utf-16-be"), data_coding=DataCoding.UCS2))
    assert preview == "?????" + "??? ??? ???????"


def test_latin_1_in_the_preview_makes_the_receipt_latin_1() -> None:
    part = submitted_part(message("Crédit reçu".encode("latin-1"), data_coding=3), SUBMITTED)
    receipt = receipt_pdu(part, MessageState.DELIVERED, "000")
    assert receipt.data_coding == DataCoding.LATIN_1
    assert receipt.short_message.endswith(" text:Crédit reçu".encode("latin-1"))


@pytest.mark.parametrize(
    "fields",
    [
        {"registered_delivery": 0},
        {"callback": Callback("https://example.com/dlr")},
    ],
)
def test_no_preview_is_kept_where_no_smpp_receipt_will_carry_it(fields: dict[str, object]) -> None:
    assert submitted_part(message(**fields), 0.0).preview == ""


def test_an_intermediate_only_request_keeps_the_preview() -> None:
    part = submitted_part(message(registered_delivery=0x10), 0.0)
    assert part.preview == "Your code is 482913"


def test_a_part_stored_before_the_new_fields_reads_as_receipts_were() -> None:
    """Entries in Redis from before an upgrade lack the trailing fields."""
    old = msgspec.msgpack.encode(
        ["m1", "bank", 1, "MyBank", "33612345678", 1_767_225_600.0, True, None, ""]
    )
    part = msgspec.msgpack.decode(old, type=SubmittedPart)
    receipt = receipt_pdu(part, MessageState.DELIVERED, "000")
    assert (receipt.source_addr_ton, receipt.source_addr_npi) == (1, 1)
    assert (receipt.dest_addr_ton, receipt.dest_addr_npi) == (0, 0)
    assert receipt.short_message.endswith(b" text:") and part.bind == 0


def test_the_new_fields_cost_few_bytes() -> None:
    """One SubmittedPart per submitted part waits in Redis for its receipt."""
    part = submitted_part(message(bind=3 << 8 | 1), 0.0)
    before = msgspec.structs.replace(part, preview="", bind=0)
    grown = len(msgspec.msgpack.encode(part)) - len(msgspec.msgpack.encode(before))
    assert grown == len("Your code is 482913") + 2


# -- which bind ------------------------------------------------------------------


@dataclass(eq=False)
class Bind:
    """What BindRegistry reads of a live connection."""

    state: SessionState = SessionState.BOUND_TRX
    in_flight: int = 0
    is_open: bool = True


def registry(*binds: Bind, account: str = "bank") -> tuple[BindRegistry, list[int]]:
    registered = BindRegistry(shard=1)
    return registered, [registered.add(account, bind) for bind in binds]  # type: ignore[arg-type]


def test_serials_are_distinct_and_carry_the_shard() -> None:
    _, serials = registry(Bind(), Bind(), Bind())
    assert len(set(serials)) == 3 and all(s & 0xFF == 1 and s > 0xFF for s in serials)


def test_the_submitting_bind_gets_the_receipt_while_it_can() -> None:
    first, second = Bind(), Bind()
    binds, (_, serial) = registry(first, second)
    assert [binds.receiver("bank", 10, serial) for _ in range(3)] == [second] * 3
    second.in_flight = 10
    assert binds.receiver("bank", 10, serial) is first
    second.in_flight = 0
    binds.remove("bank", second)  # type: ignore[arg-type]
    assert binds.receiver("bank", 10, serial) is first


def test_a_transmitter_bind_cannot_take_its_receipts() -> None:
    transmitter, receiver = Bind(SessionState.BOUND_TX), Bind(SessionState.BOUND_RX)
    binds, (serial, _) = registry(transmitter, receiver)
    assert binds.receiver("bank", 10, serial) is receiver
    binds.remove("bank", receiver)  # type: ignore[arg-type]
    assert binds.receiver("bank", 10, serial) is None


def test_a_serial_of_another_account_is_not_preferred() -> None:
    binds, (serial,) = registry(Bind(), account="shop")
    own = Bind()
    binds.add("bank", own)  # type: ignore[arg-type]
    assert binds.receiver("bank", 10, serial) is own


def test_without_a_preference_receivers_take_turns() -> None:
    first, second = Bind(), Bind()
    binds, _ = registry(first, second)
    assert [binds.receiver("bank", 10) for _ in range(4)] == [first, second, first, second]
