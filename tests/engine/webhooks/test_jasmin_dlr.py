"""Jasmin's dlr-url fields, as its DLR thrower sends them (levels 1 and 2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.messages.message import Callback
from engine.messages.receipt_map import SubmittedPart
from engine.webhooks.jasmin_dlr import jasmin_dlr_fields, receipt_fields, submit_fields
from smpp.receipt import MessageState

SUBMITTED = datetime(2026, 3, 1, 9, 30, 59, tzinfo=UTC).timestamp()
DONE = datetime(2026, 3, 1, 9, 31, 5, tzinfo=UTC).timestamp()


def part() -> SubmittedPart:
    return SubmittedPart(
        message_id="1a2b",
        account="bank",
        registered_delivery=1,
        source_addr="Bank",
        destination_addr="33612345678",
        submitted_at=SUBMITTED,
        callback=Callback(url="http://x.test/dlr", form="jasmin", method="GET", level=3),
    )


def test_level_1_says_the_operator_took_it() -> None:
    assert submit_fields("1a2b", "op-0") == {
        "id": "1a2b",
        "message_status": "ESME_ROK",
        "level": "1",
        "connector": "op-0",
    }


def test_level_2_is_the_receipt_in_smpp_words() -> None:
    fields = receipt_fields(
        "1a2b", MessageState.DELIVERED, "000", "op-0", SUBMITTED, DONE, "A1", "hello " * 5
    )
    assert fields == {
        "id": "1a2b",
        "message_status": "DELIVRD",
        "level": "2",
        "connector": "op-0",
        "id_smsc": "A1",
        "sub": "001",
        "dlvrd": "001",
        "subdate": "2603010930",
        "donedate": "2603010931",
        "err": "000",
        "text": "hello hello hello he",
    }


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (MessageState.UNDELIVERABLE, "UNDELIV"),
        (MessageState.EXPIRED, "EXPIRED"),
        (MessageState.REJECTED, "REJECTD"),
        (MessageState.DELETED, "DELETED"),
        (MessageState.UNKNOWN, "UNKNOWN"),
        (MessageState.ACCEPTED, "ACCEPTD"),
    ],
)
def test_a_failed_receipt_counts_nothing_delivered(state: MessageState, word: str) -> None:
    fields = receipt_fields("1a2b", state, "034", "", SUBMITTED, DONE)
    assert (fields["message_status"], fields["dlvrd"], fields["err"]) == (word, "000", "034")
    assert fields["connector"] == "unknown"  # Jasmin's word when it does not know


def test_the_callback_sink_asks_by_part_and_level() -> None:
    """The call `engine.callbacks.WebhookCallbacks` makes for each level."""
    assert jasmin_dlr_fields(part=part(), level=1, connector="op-0") == submit_fields(
        "1a2b", "op-0"
    )
    fields = jasmin_dlr_fields(
        part=part(), level=2, state=MessageState.DELIVERED, error="000", done_at=DONE
    )
    assert fields == receipt_fields("1a2b", MessageState.DELIVERED, "000", "", SUBMITTED, DONE)
    with pytest.raises(ValueError, match="state"):
        jasmin_dlr_fields(part=part(), level=2)
