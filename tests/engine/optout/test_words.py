"""Stop keywords, the E.164 form lists keep, and the CSV files lists travel in."""

from __future__ import annotations

import pytest

from engine.input_issues import MAX_ISSUES
from engine.optout.config import OptOutConfig
from engine.optout.csvfile import OptOutIssues, csv_lines, parse_optout_csv
from engine.optout.keywords import StopKeywords, normalized
from engine.optout.numbers import BadNumber, check_number
from engine.optout.stop import confirmation
from engine.optout.store import Entry
from smpp import pdu as p
from smpp.tlv import Tag

FR_MOBILE = "33611111111"
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
KEYWORDS = StopKeywords(OptOutConfig().keywords)


@pytest.mark.parametrize(
    "text",
    ["STOP", " stop\r\n", "Stop", "\uff33\uff34\uff2f\uff30", "unsubscribe", "لغو", " لغو ",
     "11", "\u06f1\u06f1", "\u0661\u0661", "ARRÊT", "ARRE\u0302T", "arret", "إلغاء"],
)  # fmt: skip
def test_a_keyword_matches_whatever_a_keyboard_typed(text: str) -> None:
    assert KEYWORDS.matches(text)


@pytest.mark.parametrize("text", ["STOP please", "S TOP", "111", "", "STOP" + " " * 40 + "x"])
def test_anything_more_is_a_message_for_the_customer(text: str) -> None:
    assert not KEYWORDS.matches(text)


def test_keywords_are_configured_and_compared_alike() -> None:
    keywords = StopKeywords(["Désabonner", " FIN "])
    assert keywords.words == {"désabonner", "fin"}
    assert (
        keywords.matches("DÉSABONNER") and keywords.matches("fin") and not keywords.matches("STOP")
    )
    assert normalized("Ⅻ") == "xii"  # NFKC, then case folding


def test_a_keyword_of_spaces_is_refused_by_its_place() -> None:
    with pytest.raises(ValueError, match=r"keywords\[1\]: a keyword must have a character"):
        OptOutConfig(keywords=("STOP", "  "))


@pytest.mark.parametrize(
    ("given", "kept"), [("33612345678", "33612345678"), ("+989121234567", "989121234567"),
                        ("6834002", "6834002"), ("+123456789012345", "123456789012345")],
)  # fmt: skip
def test_numbers_are_kept_as_e164_digits(given: str, kept: str) -> None:
    assert check_number(given) == kept


ARABIC_INDIC = "\u0663\u0663\u0666\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668"


@pytest.mark.parametrize(
    "given",
    ["0612345678", "123456", "1234567890123456", "+", "33 612345678", ARABIC_INDIC, "++336"],
)
def test_other_numbers_are_refused_naming_the_field(given: str) -> None:
    with pytest.raises(BadNumber, match=r"^to: .* is not an international number \(E\.164"):
        check_number(given, "to")


def test_an_export_is_imported_back_whole() -> None:
    entries = [Entry("33612345678", 1_700_000_000_123, "mo"), Entry("989121234567", NOW, "api")]
    text = "number,added_at,source\r\n" + csv_lines(entries)
    assert text.splitlines()[1:] == [
        "33612345678,2023-11-14T22:13:20.123Z,mo",
        "989121234567,2026-01-01T00:00:00.000Z,api",
    ]
    imported = parse_optout_csv(text, NOW + 5)
    assert imported == [
        Entry("33612345678", 1_700_000_000_123, "import"),
        Entry("989121234567", NOW, "import"),
    ]


def test_a_bare_column_of_numbers_is_a_file_too() -> None:
    text = "\ufeff+33612345678\n\n33612345678\n989121234567\n"
    assert parse_optout_csv(text, NOW) == [
        Entry("33612345678", NOW, "import"),
        Entry("989121234567", NOW, "import"),
    ]


def test_a_header_may_name_the_number_alone_in_any_order() -> None:
    assert parse_optout_csv("Number\n33612345678\n", NOW) == [Entry("33612345678", NOW, "import")]
    text = "source,number,added_at\nx,33612345678,\n"
    assert parse_optout_csv(text, NOW) == [Entry("33612345678", NOW, "import")]


def test_every_bad_row_is_reported_by_its_line_and_nothing_is_taken() -> None:
    text = (
        "number,added_at\n"
        "33612345678,2026-01-01T00:00:00Z\n"
        "0612345678,\n"
        "\n"
        "33612345679,yesterday\n"
        "33612345670,2026-01-01T10:00:00\n"
        "33612345671\n"
    )
    with pytest.raises(OptOutIssues) as caught:
        parse_optout_csv(text, NOW)
    assert caught.value.issues == (
        "line 3: number: '0612345678' is not an international number"
        " (E.164: country code then number, 7 to 15 digits, an optional +)",
        "line 5: added_at: Invalid isoformat string: 'yesterday'",
        "line 6: added_at: '2026-01-01T10:00:00' must say its offset (Z for UTC)",
        "line 7: row: expected 2 column(s), got 1",
    )


@pytest.mark.parametrize("header", ["phone\n", "number,number\n", "number,email\n", "1234,x\n"])
def test_a_header_without_a_number_column_is_refused(header: str) -> None:
    with pytest.raises(OptOutIssues, match=r"^line 1: header: a number column"):
        parse_optout_csv(header + "33612345678\n", NOW)


def test_issues_are_listed_up_to_a_bound() -> None:
    text = "number\n" + "0\n" * (MAX_ISSUES + 5)
    with pytest.raises(OptOutIssues) as caught:
        parse_optout_csv(text, NOW)
    assert len(caught.value.issues) == MAX_ISSUES + 1
    assert caught.value.issues[-1] == "and 5 more issue(s)"


def test_the_confirmation_goes_back_from_where_the_stop_was_sent() -> None:
    mo = p.DeliverSm(source_addr=FR_MOBILE, source_addr_ton=1, dest_addr_ton=3,
                     destination_addr="36000", short_message=b"STOP")  # fmt: skip
    short = confirmation("You will receive no more messages", FR_MOBILE, mo, latin1_allowed=True)
    assert (short.source_addr, short.source_addr_ton, short.destination_addr) == (
        "36000", 3, "+" + FR_MOBILE,
    )  # fmt: skip
    assert (short.data_coding, short.short_message) == (0, b"You will receive no more messages")
    long = confirmation("لغو شد. " * 30, FR_MOBILE, mo, latin1_allowed=True)
    assert long.data_coding == 8 and long.short_message == b""
    assert long.tlvs[Tag.MESSAGE_PAYLOAD] == ("لغو شد. " * 30).encode("utf-16-be")
