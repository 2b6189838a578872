"""What a Jasmin /send means as a `SendItem`: coding, priority, validity, sdt, DLR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.jasmin_args import Args, JasminError
from api.jasmin_send import apply_defaults, check_content, send_item
from engine.messages.intake import ValidityLimits
from engine.messages.message import Callback, Priority
from engine.sending import SendItem

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC).timestamp()
LIMITS = ValidityLimits(default=86_400.0, maximum=172_800.0)


def item(**fields: bytes) -> SendItem:
    args: Args = {"username": b"bank", "password": b"x", "to": b"+33612345678", **fields}
    args.setdefault("content", b"hi")
    apply_defaults(args)
    return send_item(args, LIMITS, NOW)


def refusal(**fields: bytes) -> str:
    with pytest.raises(JasminError) as caught:
        item(**fields)
    assert caught.value.status == 400
    return caught.value.message


def test_coding_0_is_text_in_the_gsm_alphabet_with_question_marks() -> None:
    sent = item(content="Café €5 漢".encode())
    assert (sent.to, sent.sender, sent.text, sent.data, sent.data_coding) == (
        "33612345678",
        "",
        "Café €5 ?",
        None,
        0,
    )


def test_other_codings_and_hex_content_are_the_octets_given() -> None:
    ucs2 = item(content=b"\x06\x23\x06\x31", coding=b"8")
    assert (ucs2.text, ucs2.data, ucs2.data_coding) == (None, b"\x06\x23\x06\x31", 8)
    hexed = item(**{"hex-content": b"0048006900", "coding": b"8"}, content=b"")
    assert (hexed.data, hexed.data_coding) == (b"\x00\x48\x00\x69\x00", 8)


def test_content_errors() -> None:
    assert refusal(**{"hex-content": b"4G"}) == "Invalid hex-content data: '4G'"
    assert refusal(content=b"\xff") == "Argument [content] has an invalid value: [\ufffd]."
    assert refusal(content=b"x" * 0x10000, coding=b"4") == "Content too long: at most 65535 octets"


def test_content_must_be_there_once() -> None:
    with pytest.raises(JasminError, match="content or hex-content not present"):
        check_content({}, required=True)
    check_content({}, required=False)
    with pytest.raises(JasminError, match="cannot be used both"):
        check_content({"content": b"", "hex-content": b""}, required=False)


@pytest.mark.parametrize(
    ("flag", "priority"),
    [(b"3", Priority.OTP), (b"2", Priority.EXPRESS), (b"1", None), (b"0", None)],
)
def test_priority_3_is_otp_2_express_else_the_accounts_class(
    flag: bytes, priority: Priority | None
) -> None:
    assert item(priority=flag).priority == priority
    assert item().priority is None


def test_sender_is_checked_and_its_plus_dropped() -> None:
    assert item(**{"from": b"+33100"}).sender == "33100"
    assert item(**{"from": b"MyBank"}).sender == "MyBank"
    assert refusal(**{"from": b"TooLongSender"}) == (
        "Argument [from] has an invalid value: [TooLongSender]."
    )
    assert refusal(to=b"1" * 21) == (
        f"Argument [to] has an invalid value: [{'1' * 21}]:"
        " not a valid number (too long for any country)."
    )


@pytest.mark.parametrize(
    ("to", "why"),
    [
        (b"000000000", "it starts with no country's calling code"),
        (b"336", "too short for any country"),
        (b"4912345", "no DE number is in this range"),
    ],
)
def test_a_recipient_no_numbering_plan_knows_is_refused_with_why(to: bytes, why: str) -> None:
    shown = to.decode()
    assert (
        refusal(to=to)
        == f"Argument [to] has an invalid value: [{shown}]: not a valid number ({why})."
    )
    assert item(to=b"+4915112345678").to == "4915112345678"


def test_validity_period_is_minutes_capped_at_the_maximum() -> None:
    assert item(**{"validity-period": b"15"}).validity == 900
    assert item(**{"validity-period": b"9" * 18}).validity == LIMITS.maximum
    assert item().validity is None


def test_sdt_schedules_the_send() -> None:
    later = datetime.fromtimestamp(NOW, UTC) + timedelta(hours=2)
    absolute = later.strftime("%y%m%d%H%M%S") + "000+"
    scheduled = item(sdt=absolute.encode())
    assert (scheduled.send_at, scheduled.validity) == (later.timestamp(), LIMITS.default)
    assert item(sdt=b"000000020000000R").send_at == NOW + 7200
    assert item(sdt=b"000000000000000R").send_at == 0.0  # now: no wait
    assert refusal(sdt=b"261399000000000+") == (
        "Argument [sdt] has an invalid value: [261399000000000+]."
    )
    assert refusal(sdt=b"000010000000000R") == "sdt is more than 172800 seconds ahead"


def test_dlr_asks_for_jasmins_callback_form() -> None:
    sent = item(**{"dlr-url": b"https://x.test/dlr?a=1", "dlr-level": b"3", "dlr-method": b"get"})
    assert sent.callback == Callback(
        url="https://x.test/dlr?a=1", form="jasmin", method="GET", level=3
    )
    assert item(dlr=b"yes").callback is None  # Jasmin: no dlr-url, no callback
    assert item().callback is None
    assert refusal(**{"dlr-url": "http://x.test/d\u00e9 r".encode()}).startswith(
        "Argument [dlr-url] has an invalid value"
    )


def test_custom_tlvs_are_refused() -> None:
    assert refusal(custom_tlvs=b"[...]") == "custom_tlvs are not supported"
