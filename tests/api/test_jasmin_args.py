"""Jasmin's argument checks: the same first failure, in the same words."""

from __future__ import annotations

import pytest

from api.jasmin_args import (
    BALANCE_FIELDS,
    SEND_FIELDS,
    Args,
    JasminError,
    parse_json,
    parse_query,
    validate,
)
from api.jasmin_send import apply_defaults

GOOD: Args = {"username": b"bank", "password": b"secret", "to": b"33612345678", "content": b"hi"}


def check_send(args: Args) -> None:
    apply_defaults(args)
    validate(args, SEND_FIELDS)


def refusal(args: Args) -> str:
    with pytest.raises(JasminError) as caught:
        check_send(args)
    assert caught.value.status == 400
    return caught.value.message


def test_values_stay_the_octets_sent() -> None:
    args = parse_query(b"to=%2B336&content=%06%23%06%31&content=second&x=a+b&blank=")
    assert args == {"to": b"+336", "content": b"\x06\x23\x06\x31", "x": b"a b", "blank": b""}


def test_json_members_become_arguments() -> None:
    args = parse_json(b'{"to": "336", "priority": 3, "content": "h\\u00e9"}')
    assert args == {"to": b"336", "priority": b"3", "content": "hé".encode()}
    with pytest.raises(JasminError, match="Invalid JSON body"):
        parse_json(b"{")
    with pytest.raises(JasminError, match="not an object"):
        parse_json(b"[1]")
    with pytest.raises(JasminError, match=r"Argument \[to\] has an invalid value"):
        parse_json(b'{"to": ["336"]}')


def test_a_good_request_passes_with_jasmins_defaults() -> None:
    args = dict(GOOD)
    check_send(args)
    assert (args["coding"], args["dlr"]) == (b"0", b"no")


def test_a_dlr_url_turns_dlr_on_with_level_1_by_post() -> None:
    args = {**GOOD, "dlr-url": b"http://x.test/dlr", "dlr-method": b"get"}
    check_send(args)
    assert (args["dlr"], args["dlr-level"], args["dlr-method"]) == (b"yes", b"1", b"GET")


def test_no_argument_at_all() -> None:
    with pytest.raises(JasminError) as caught:
        validate({}, BALANCE_FIELDS)
    assert caught.value.message == (
        "Mandatory arguments not found, please refer to the HTTPAPI specifications."
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"to": None}, "Mandatory argument [to] is not found."),
        ({"password": None}, "Mandatory argument [password] is not found."),
        ({"to": b"33-61"}, "Argument [to] has an invalid value: [33-61]."),
        ({"coding": b"11"}, "Argument [coding] has an invalid value: [11]."),
        ({"priority": b"4"}, "Argument [priority] has an invalid value: [4]."),
        ({"dlr": b"maybe"}, "Argument [dlr] has an invalid value: [maybe]."),
        ({"dlr-level": b"0"}, "Argument [dlr-level] has an invalid value: [0]."),
        ({"dlr-method": b"put"}, "Argument [dlr-method] has an invalid value: [PUT]."),
        ({"dlr-url": b"ftp://x"}, "Argument [dlr-url] has an invalid value: [ftp://x]."),
        ({"validity-period": b"-1"}, "Argument [validity-period] has an invalid value: [-1]."),
        ({"sdt": b"2601"}, "Argument [sdt] has an invalid value: [2601]."),
        ({"tags": b"a b"}, "Argument [tags] has an invalid value: [a b]."),
        ({"username": b""}, "Argument [username] has an invalid value: []."),
    ],
)
def test_each_field_is_checked(change: dict[str, bytes | None], message: str) -> None:
    args = {**GOOD, **{k: v for k, v in change.items() if v is not None}}
    for name in [k for k, v in change.items() if v is None]:
        del args[name]
    assert refusal(args) == message


def test_jasmin_checks_the_first_name_then_the_fields_then_the_other_names() -> None:
    assert refusal({"foo": b"1", "to": b"x"}) == "Argument [foo] is unknown."
    assert refusal({"to": b"x", "foo": b"1"}) == "Argument [to] has an invalid value: [x]."
    assert refusal({**GOOD, "foo": b"1"}) == "Argument [foo] is unknown."
    assert refusal({"username": b"bank"}) == "Mandatory argument [to] is not found."
