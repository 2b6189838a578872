"""Delivery receipt text (SMPP 3.4 Appendix B) and message states (§5.2.28).

The golden receipts follow shapes reported from real SMSCs in public issue
trackers (Jasmin, php-smpp, jsmpp, node-smpp, smppex, vumi); ids, dates and
texts are our own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smpp.receipt import (
    FINAL_STATES,
    STAT_WORDS,
    STATES_BY_STAT,
    DeliveryReceipt,
    MessageState,
    ReceiptError,
    ReceiptOutcome,
    format_receipt,
    is_final,
    parse_receipt,
    receipt_outcome,
    state_from_stat,
)

PROPERTY = settings(max_examples=200, deadline=None)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- parsing real-world shapes ---------------------------------------------------

GOLDEN = [
    pytest.param(
        "id:4021788301 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231 "
        "stat:DELIVRD err:000 text:Your code is 482913",
        DeliveryReceipt(
            id="4021788301",
            sub=1,
            dlvrd=1,
            submit_date=utc(2024, 1, 15, 12, 30),
            done_date=utc(2024, 1, 15, 12, 31),
            stat="DELIVRD",
            err="000",
            text="Your code is 482913",
        ),
        id="appendix-b-canonical",
    ),
    pytest.param(
        "id:7f3e9a0c5b2d4e618a9c0d1e2f3a4b5c sub:001 dlvrd:001 submit date:230918094512 "
        "done date:230918094520 stat:DELIVRD err:000 text:",
        DeliveryReceipt(
            id="7f3e9a0c5b2d4e618a9c0d1e2f3a4b5c",
            sub=1,
            dlvrd=1,
            submit_date=utc(2023, 9, 18, 9, 45, 12),
            done_date=utc(2023, 9, 18, 9, 45, 20),
            stat="DELIVRD",
            err="000",
            text="",
        ),
        id="12-digit-dates-hex-id-empty-text",
    ),
    pytest.param(
        b"id:318205577120934417 sub:001 dlvrd:001 submit date:2211020815 "
        b"done date:2211020816 stat:DELIVRD err:0000 text:Gr\x1b/uss aus Wien",
        DeliveryReceipt(
            id="318205577120934417",
            sub=1,
            dlvrd=1,
            submit_date=utc(2022, 11, 2, 8, 15),
            done_date=utc(2022, 11, 2, 8, 16),
            stat="DELIVRD",
            err="0000",
            text="Gr\x1b/uss aus Wien",
        ),
        id="long-decimal-id-4-digit-err-gsm-escape-in-bytes",
    ),
    pytest.param(
        "id:0918273645 submit date:2305061122 done date:2305061123 stat:DELIVRD err:000",
        DeliveryReceipt(
            id="0918273645",
            submit_date=utc(2023, 5, 6, 11, 22),
            done_date=utc(2023, 5, 6, 11, 23),
            stat="DELIVRD",
            err="000",
        ),
        id="no-sub-dlvrd-text-leading-zero-id",
    ),
    pytest.param(
        "id:c2a1f0e4-7d3b-4a59-9e21-5b8c7d6f0a13 submit date:2112241805 "
        "done date:2112241807 stat:UNDELIV err:002",
        DeliveryReceipt(
            id="c2a1f0e4-7d3b-4a59-9e21-5b8c7d6f0a13",
            submit_date=utc(2021, 12, 24, 18, 5),
            done_date=utc(2021, 12, 24, 18, 7),
            stat="UNDELIV",
            err="002",
        ),
        id="uuid-id",
    ),
    pytest.param(
        "id:55120978 sub:0 dlvrd:12 submit date:2003141530 done date:2003141531 "
        "stat:UNDELIV err:34 Text:*123#",
        DeliveryReceipt(
            id="55120978",
            sub=0,
            dlvrd=12,
            submit_date=utc(2020, 3, 14, 15, 30),
            done_date=utc(2020, 3, 14, 15, 31),
            stat="UNDELIV",
            err="34",
            text="*123#",
        ),
        id="unpadded-counters-capital-Text",
    ),
    pytest.param(
        "id:k8d2m4p6q8r0s2t4v6w8 sub:000 dlvrd:000 submit date:190302101520508+ "
        "done date:190302101530012+ stat:EXPIRED err:000",
        DeliveryReceipt(
            id="k8d2m4p6q8r0s2t4v6w8",
            sub=0,
            dlvrd=0,
            submit_date=utc(2019, 3, 2, 8, 15, 20, 500_000),
            done_date=utc(2019, 3, 2, 7, 15, 30),
            stat="EXPIRED",
            err="000",
        ),
        id="dates-as-smpp-absolute-times",
    ),
    pytest.param(
        "id:990011 sub:001 dlvrd:000 submit date:2407010900 done date:2407010901 "
        "stat:FAILED err:001 text:Payment of 1,250.00 due",
        DeliveryReceipt(
            id="990011",
            sub=1,
            dlvrd=0,
            submit_date=utc(2024, 7, 1, 9, 0),
            done_date=utc(2024, 7, 1, 9, 1),
            stat="FAILED",
            err="001",
            text="Payment of 1,250.00 due",
        ),
        id="stat-FAILED",
    ),
    pytest.param(
        "ID:AB12CD34  SUB:001   DLVRD:001 Submit_Date:2402291200 Done-Date: 2402291201 "
        "network:62130 Stat:delivrd  ERR:000 TEXT: ref: 12:30 stat:EXPIRED id:zz",
        DeliveryReceipt(
            id="AB12CD34",
            sub=1,
            dlvrd=1,
            submit_date=utc(2024, 2, 29, 12, 0),
            done_date=utc(2024, 2, 29, 12, 1),
            stat="DELIVRD",
            err="000",
            text=" ref: 12:30 stat:EXPIRED id:zz",
        ),
        id="any-case-key-spellings-extra-spaces-unknown-key-colons-in-text",
    ),
    pytest.param(
        "id:314159 Submit Date:2401011200 Done Date:2401011201 "
        "stat:ACCEPTD err:000 text:hi\x00\x00",
        DeliveryReceipt(
            id="314159",
            submit_date=utc(2024, 1, 1, 12, 0),
            done_date=utc(2024, 1, 1, 12, 1),
            stat="ACCEPTD",
            err="000",
            text="hi",
        ),
        id="spaced-capital-date-keys-trailing-nuls",
    ),
    pytest.param(
        "stat:DELIVRD err:000 text:",
        DeliveryReceipt(stat="DELIVRD", err="000", text=""),
        id="no-id-the-tlv-carries-it",
    ),
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN)
def test_parse_golden_receipts(text: str | bytes, expected: DeliveryReceipt) -> None:
    assert parse_receipt(text) == expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("submit date:2413011200", None),  # month 13
        ("submit date:2402301200", None),  # 30 February
        ("submit date:24010112", None),  # 8 digits
        ("submit date:24010112000", None),  # 11 digits
        ("submit date:240101120000099+", None),  # absolute time with 99 quarter hours
        ("submit date:24-01-0112", None),
        ("sub:abc", None),
        ("sub:" + "9" * 5000, None),  # longer than int() accepts: no exception
        ("dlvrd:-1", None),
        ("dlvrd:\u0663", None),  # ARABIC-INDIC DIGIT THREE is no SMPP digit
    ],
)
def test_unreadable_values_become_none(field: str, expected: None) -> None:
    receipt = parse_receipt(f"id:1 {field} stat:DELIVRD")
    assert receipt is not None
    key = field.split(":")[0].replace(" ", "_")
    assert getattr(receipt, key) is expected
    assert receipt.id == "1"
    assert receipt.stat == "DELIVRD"


def test_duplicate_key_keeps_the_first() -> None:
    receipt = parse_receipt("id:first stat:DELIVRD id:second stat:UNDELIV")
    assert receipt == DeliveryReceipt(id="first", stat="DELIVRD")


def test_key_needs_a_word_boundary() -> None:
    receipt = parse_receipt("msgid:77 id:88 xstat:UNDELIV stat:DELIVRD")
    assert receipt == DeliveryReceipt(id="88", stat="DELIVRD")


@pytest.mark.parametrize(
    "text",
    [
        "",
        b"",
        "Your one-time code is 482913",
        "id:5",  # one key alone
        "id:5 text:hello",  # text does not count
        "sub:001 dlvrd:001 err:000",  # neither id nor stat
        "text:id:5 stat:DELIVRD",  # everything is the text
        "id: stat: err:",  # keys without values
        "\x00\x00\x00",
        "\u017ftat:DELIVRD id:1",  # LATIN SMALL LETTER LONG S is no 's'
    ],
)
def test_not_a_receipt(text: str | bytes) -> None:
    assert parse_receipt(text) is None


TEXT_OR_BYTES = st.one_of(st.text(max_size=300), st.binary(max_size=300))
RECEIPTISH = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "id:",
                "ID:",
                " sub:",
                " dlvrd:",
                " submit date:",
                " Done_Date:",
                " stat:",
                " err:",
                " text:",
                " ",
                "\x00",
                "R",
                "+",
                "-",
            ]
        ),
        st.text(alphabet="0123456789abcdefDELIVR+- :", max_size=18),
        st.text(max_size=5),
    ),
    max_size=20,
).map("".join)


@PROPERTY
@given(st.one_of(TEXT_OR_BYTES, RECEIPTISH))
def test_parse_never_raises(text: str | bytes) -> None:
    receipt = parse_receipt(text)
    assert receipt is None or isinstance(receipt, DeliveryReceipt)
    if receipt is not None:
        assert receipt.id or receipt.stat
        assert receipt.stat is None or receipt.stat == receipt.stat.upper()


# --- formatting -------------------------------------------------------------------


def fields_of(receipt: DeliveryReceipt) -> dict[str, object]:
    return {name: getattr(receipt, name) for name in receipt.__struct_fields__}


FULL = DeliveryReceipt(
    id="4021788301",
    sub=1,
    dlvrd=1,
    submit_date=utc(2024, 1, 15, 12, 30, 5),
    done_date=utc(2024, 1, 15, 12, 31, 45),
    stat="DELIVRD",
    err="000",
    text="Your code is 482913. Never share it.",
)


def test_format_canonical() -> None:
    assert format_receipt(FULL) == (
        "id:4021788301 sub:001 dlvrd:001 submit date:2401151230 done date:2401151231 "
        "stat:DELIVRD err:000 text:Your code is 482913."
    )


def test_format_with_seconds() -> None:
    assert format_receipt(FULL, seconds=True) == (
        "id:4021788301 sub:001 dlvrd:001 submit date:240115123005 done date:240115123145 "
        "stat:DELIVRD err:000 text:Your code is 482913."
    )


def test_format_writes_dates_in_utc_and_leaves_out_missing_fields() -> None:
    plus_three = timezone(timedelta(hours=3))
    receipt = DeliveryReceipt(
        id="A1", done_date=datetime(2024, 1, 1, 1, 0, tzinfo=plus_three), stat="EXPIRED"
    )
    assert format_receipt(receipt) == "id:A1 done date:2312312200 stat:EXPIRED"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": None}, "needs an id"),
        ({"stat": None}, "needs an id and a stat"),
        ({"id": ""}, "one word"),
        ({"id": "12 34"}, "one word"),
        ({"stat": "DELIV RD"}, "one word"),
        ({"stat": "delivrd"}, "upper-case"),
        ({"sub": 1000}, "0-999"),
        ({"dlvrd": -1}, "0-999"),
        ({"err": "0000"}, "at most 3"),
        ({"err": ""}, "one word"),
        ({"submit_date": utc(2100, 1, 1)}, "outside"),
        ({"done_date": utc(1999, 12, 31, 23, 59)}, "outside"),
    ],
)
def test_format_rejects(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ReceiptError, match=message):
        format_receipt(DeliveryReceipt(**(fields_of(FULL) | changes)))  # type: ignore[arg-type]


def test_format_needs_aware_dates() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_receipt(DeliveryReceipt(id="1", stat="DELIVRD", done_date=datetime(2024, 1, 1)))


WORD = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=65
)
MINUTES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59))


def receipts(*, seconds: bool) -> st.SearchStrategy[DeliveryReceipt]:
    dates = MINUTES.map(
        lambda moment: moment.replace(
            second=moment.second if seconds else 0, microsecond=0, tzinfo=UTC
        )
    )
    return st.builds(
        DeliveryReceipt,
        id=WORD,
        sub=st.none() | st.integers(0, 999),
        dlvrd=st.none() | st.integers(0, 999),
        submit_date=st.none() | dates,
        done_date=st.none() | dates,
        stat=st.sampled_from(sorted(STATES_BY_STAT)) | WORD.map(str.upper),
        err=st.none() | WORD.map(lambda word: word[:3]),
        text=st.none() | st.text(max_size=20).filter(lambda text: not text.endswith("\x00")),
    )


@PROPERTY
@given(receipts(seconds=False))
def test_format_then_parse_is_identity(receipt: DeliveryReceipt) -> None:
    assert parse_receipt(format_receipt(receipt)) == receipt


@PROPERTY
@given(receipts(seconds=True))
def test_format_then_parse_with_seconds_is_identity(receipt: DeliveryReceipt) -> None:
    assert parse_receipt(format_receipt(receipt, seconds=True)) == receipt


@PROPERTY
@given(
    # Zones run from UTC-14:00 to UTC+14:00: the bounds stay in 2000-2099 in UTC.
    st.datetimes(min_value=datetime(2000, 1, 1, 14), max_value=datetime(2099, 12, 31, 9)),
    st.integers(-14 * 60, 14 * 60),
    st.booleans(),
)
def test_format_writes_each_date_as_its_utc_minute_or_second(
    moment: datetime, offset_minutes: int, seconds: bool
) -> None:
    """Dates are written once per minute (or second) and remembered; any instant
    of it, in any zone, still gets its own text."""
    zoned = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    formatted = format_receipt(
        DeliveryReceipt(id="A1", done_date=zoned, stat="DELIVRD"), seconds=seconds
    )
    expected = zoned.astimezone(UTC).strftime("%y%m%d%H%M%S" if seconds else "%y%m%d%H%M")
    assert formatted == f"id:A1 done date:{expected} stat:DELIVRD"


@PROPERTY
@given(receipts(seconds=False), st.text(min_size=21, max_size=200))
def test_format_keeps_the_first_20_characters_of_the_text(
    receipt: DeliveryReceipt, text: str
) -> None:
    longer = DeliveryReceipt(**(fields_of(receipt) | {"text": text}))  # type: ignore[arg-type]
    formatted = format_receipt(longer)
    assert formatted.endswith(f"text:{text[:20]}")


# --- states -----------------------------------------------------------------------


def test_message_state_values() -> None:
    assert {state.name: state.value for state in MessageState} == {
        "SCHEDULED": 0,
        "ENROUTE": 1,
        "DELIVERED": 2,
        "EXPIRED": 3,
        "DELETED": 4,
        "UNDELIVERABLE": 5,
        "ACCEPTED": 6,
        "UNKNOWN": 7,
        "REJECTED": 8,
        "SKIPPED": 9,
    }


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("ENROUTE", MessageState.ENROUTE),
        ("DELIVRD", MessageState.DELIVERED),
        ("EXPIRED", MessageState.EXPIRED),
        ("DELETED", MessageState.DELETED),
        ("UNDELIV", MessageState.UNDELIVERABLE),
        ("ACCEPTD", MessageState.ACCEPTED),
        ("UNKNOWN", MessageState.UNKNOWN),
        ("REJECTD", MessageState.REJECTED),
        ("SKIPPED", MessageState.SKIPPED),
        ("SCHEDULED", MessageState.SCHEDULED),
        ("DELIVERED", MessageState.DELIVERED),
        ("UNDELIVERABLE", MessageState.UNDELIVERABLE),
        ("UNDELIVERED", MessageState.UNDELIVERABLE),
        ("FAILED", MessageState.UNDELIVERABLE),
        ("ACCEPTED", MessageState.ACCEPTED),
        ("REJECTED", MessageState.REJECTED),
        ("delivrd", MessageState.DELIVERED),
        ("Undeliv", MessageState.UNDELIVERABLE),
        ("DELIVR", None),
        ("", None),
        ("OK", None),
    ],
)
def test_state_from_stat(stat: str, state: MessageState | None) -> None:
    assert state_from_stat(stat) is state


def test_stat_words_are_seven_letters_and_read_back() -> None:
    for state, word in STAT_WORDS.items():
        assert len(word) == 7
        expected = MessageState.ENROUTE if state is MessageState.SCHEDULED else state
        assert state_from_stat(word) is expected
    assert set(STAT_WORDS) == set(MessageState)


def test_final_states() -> None:
    finals = {state for state in MessageState if is_final(state)}
    assert finals == {
        MessageState.DELIVERED,
        MessageState.EXPIRED,
        MessageState.DELETED,
        MessageState.UNDELIVERABLE,
        MessageState.ACCEPTED,
        MessageState.UNKNOWN,
        MessageState.REJECTED,
        MessageState.SKIPPED,
    }
    assert finals == FINAL_STATES
    assert not is_final(MessageState.ENROUTE)
    assert not is_final(MessageState.SCHEDULED)


# --- the authoritative id and state -----------------------------------------------

TEXT = (
    b"id:1A2B3C sub:001 dlvrd:001 submit date:2401151230 done date:2401151231 stat:UNDELIV err:001"
)


def test_tlvs_win_over_the_text() -> None:
    outcome = receipt_outcome("1715004", MessageState.DELIVERED, TEXT)
    assert outcome == ReceiptOutcome("1715004", MessageState.DELIVERED, parse_receipt(TEXT))
    assert outcome is not None
    assert outcome.receipt is not None
    assert outcome.receipt.id == "1A2B3C"  # still there to try when the TLV id does not match


def test_text_fills_in_missing_tlvs() -> None:
    assert receipt_outcome(None, None, TEXT) == ReceiptOutcome(
        "1A2B3C", MessageState.UNDELIVERABLE, parse_receipt(TEXT)
    )
    assert receipt_outcome("", None, TEXT) == ReceiptOutcome(
        "1A2B3C", MessageState.UNDELIVERABLE, parse_receipt(TEXT)
    )


def test_id_from_tlv_state_from_text() -> None:
    outcome = receipt_outcome("777", None, "stat:EXPIRED err:000")
    assert outcome is not None
    assert (outcome.message_id, outcome.state) == ("777", MessageState.EXPIRED)


def test_state_tlv_out_of_range_falls_back_to_the_text() -> None:
    outcome = receipt_outcome("777", 42, TEXT)
    assert outcome is not None
    assert outcome.state is MessageState.UNDELIVERABLE


def test_tlvs_alone_suffice() -> None:
    assert receipt_outcome("0badf00d", 3, b"") == ReceiptOutcome(
        "0badf00d", MessageState.EXPIRED, None
    )


def test_state_found_nowhere_is_unknown() -> None:
    outcome = receipt_outcome("777", None, b"")
    assert outcome == ReceiptOutcome("777", MessageState.UNKNOWN, None)
    outcome = receipt_outcome(None, None, "id:9 stat:WEIRD")
    assert outcome is not None
    assert outcome.state is MessageState.UNKNOWN


def test_no_id_anywhere_is_no_outcome() -> None:
    assert receipt_outcome(None, MessageState.DELIVERED, "stat:DELIVRD err:000") is None
    assert receipt_outcome(None, None, b"hello") is None


@PROPERTY
@given(
    st.none() | st.text(max_size=65),
    st.none() | st.integers(0, 255),
    st.one_of(TEXT_OR_BYTES, RECEIPTISH),
)
def test_outcome_never_raises(
    receipted_message_id: str | None, message_state: int | None, text: str | bytes
) -> None:
    outcome = receipt_outcome(receipted_message_id, message_state, text)
    if receipted_message_id:
        assert outcome is not None
        assert outcome.message_id == receipted_message_id
    if outcome is not None:
        assert isinstance(outcome.state, MessageState)
