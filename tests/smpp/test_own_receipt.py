"""Our own receipts' text (`format_own_receipt`): written from Unix times
without datetimes, it must read exactly as `format_receipt` writes the same
receipt, including where a time rounded to the microsecond falls in the next
minute, and fail the same way outside 2000-2099."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from smpp.receipt import (
    STAT_WORDS,
    DeliveryReceipt,
    ReceiptError,
    format_own_receipt,
    format_receipt,
)

PROPERTY = settings(max_examples=500, deadline=None)

YEARS_2000_TO_2099 = (946_684_800.0, 4_102_444_800.0)
TIMES = (
    st.floats(*YEARS_2000_TO_2099, exclude_max=True)
    | st.integers(946_684_800 // 60, 4_102_444_800 // 60).flatmap(
        # Within microseconds of a minute's end, where rounding may carry.
        lambda minute: st.floats(minute * 60 - 2e-6, minute * 60 + 2e-6)
    )
    | st.floats(0.0, 2**37)
)


@PROPERTY
@given(TIMES, TIMES, st.booleans(), st.sampled_from(sorted(set(STAT_WORDS.values()))))
def test_our_receipt_reads_as_format_receipt_writes_it(
    submitted_at: float, done_at: float, delivered: bool, stat: str
) -> None:
    """Same text, or the same error for a date outside 2000-2099, as the
    datetimes these Unix times make."""

    def write(formatter: Callable[..., str], *args: object) -> str:
        try:
            return formatter(*args)
        except ReceiptError as error:
            return f"error: {error}"

    receipt = DeliveryReceipt(
        id="19a2b3c4d5e010000007",
        sub=1,
        dlvrd=1 if delivered else 0,
        submit_date=datetime.fromtimestamp(submitted_at, UTC),
        done_date=datetime.fromtimestamp(done_at, UTC),
        stat=stat,
        err="00b",
        text="Your code is 482913. Never share it.",
    )
    own = (receipt.id, delivered, submitted_at, done_at, stat, "00b", receipt.text)
    assert write(format_own_receipt, *own) == write(format_receipt, receipt)
