"""A Jasmin ``/send`` (or ``/rate``) request as the `SendItem` the engine takes.

What the arguments mean, after `api.jasmin_args.validate` passed:

- ``coding`` 0 with ``content``: UTF-8 text sent in the GSM 03.38 alphabet,
  a character outside it becoming ``?`` (as Jasmin's ``gsm0338`` codec with
  ``replace``). Any other coding, or ``hex-content``: the octets as given,
  labelled with that data_coding (Jasmin forwards them untouched).
- ``priority`` is SMPP's priority_flag: 3 sends in our OTP class, 2 in
  express, 0 and 1 in the account's own class (normal unless configured).
- ``validity-period`` is in minutes (capped at the gateway's maximum).
- ``sdt`` is an SMPP time (absolute or relative); the message waits here
  until then.
- ``dlr=yes`` with a ``dlr-url`` asks for Jasmin's callback form at
  ``dlr-level`` (1 submit, 2 receipt, 3 both) by ``dlr-method``.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime

from api.jasmin_args import Args, JasminError, invalid
from api.numbers import InvalidNumber, international
from engine import (
    GSM_CHARACTERS,
    Callback,
    Priority,
    SendItem,
    SmppTimeError,
    ValidityLimits,
    check_webhook_url,
    resolve_smpp_time,
)

MAX_CONTENT_OCTETS = 0xFFFF
"""A message_payload's limit (SMPP 3.4 §5.3.2.32)."""
_SENDER = re.compile(r"[A-Za-z0-9]{1,11}|\+?[0-9]{1,20}")
_PRIORITIES = {b"3": Priority.OTP, b"2": Priority.EXPRESS}


def apply_defaults(args: Args) -> None:
    """Jasmin's defaults, set before its checks (so they are checked too)."""
    args.setdefault("coding", b"0")
    if "dlr-url" in args or "dlr-level" in args:
        args["dlr"] = b"yes"
    args.setdefault("dlr", b"no")
    if args["dlr"] == b"yes":
        args.setdefault("dlr-level", b"1")
        args.setdefault("dlr-method", b"POST")
    if "dlr-method" in args:
        args["dlr-method"] = args["dlr-method"].upper()


def check_content(args: Args, *, required: bool) -> None:
    if required and "content" not in args and "hex-content" not in args:
        raise JasminError(400, "content or hex-content not present.")
    if "content" in args and "hex-content" in args:
        raise JasminError(400, "content and hex-content cannot be used both in same request.")


def send_item(args: Args, validity: ValidityLimits, now: float) -> SendItem:
    """The message of validated arguments, or a `JasminError` saying what is wrong."""
    if "custom_tlvs" in args:
        raise JasminError(400, "custom_tlvs are not supported")
    send_at = _send_at(args, validity, now)
    minutes = args.get("validity-period")
    seconds: float | None = None
    if minutes is not None:
        seconds = min(int(minutes) * 60, validity.maximum)
    elif send_at:
        seconds = validity.default  # the default validity counts from the send time
    text, data, coding = _content(args)
    return SendItem(
        to=_recipient(args["to"]),
        sender=_sender(args.get("from")),
        text=text,
        data=data,
        data_coding=coding,
        priority=_PRIORITIES.get(args.get("priority", b"")),
        validity=seconds,
        send_at=send_at,
        callback=_callback(args),
    )


def _recipient(value: bytes) -> str:
    """E.164 digits; a number no numbering plan knows is refused here, before
    authentication and so before anything is held (Jasmin's words, and why)."""
    try:
        return international(value.decode("ascii"))
    except InvalidNumber as exc:
        message = invalid("to", value).message.removesuffix(".")
        raise JasminError(400, f"{message}: not a valid number ({exc}).") from None


def _sender(value: bytes | None) -> str:
    """Jasmin sends no source address when ``from`` is absent; so do we."""
    if value is None:
        return ""
    sender = value.decode("utf-8", "replace")
    if _SENDER.fullmatch(sender) is None:
        raise invalid("from", value)
    return sender.removeprefix("+")


def _content(args: Args) -> tuple[str | None, bytes | None, int]:
    coding = int(args["coding"])
    hex_content = args.get("hex-content")
    if hex_content is not None:
        try:
            data = binascii.unhexlify(hex_content)
        except (binascii.Error, ValueError):
            shown = hex_content[:80].decode("utf-8", "replace")
            raise JasminError(400, f"Invalid hex-content data: '{shown}'") from None
    else:
        data = args.get("content", b"")
    if len(data) > MAX_CONTENT_OCTETS:
        raise JasminError(400, f"Content too long: at most {MAX_CONTENT_OCTETS} octets")
    if coding != 0 or hex_content is not None:
        return None, data, coding
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise invalid("content", data) from None
    return "".join(char if char in GSM_CHARACTERS else "?" for char in text), None, 0


def _send_at(args: Args, validity: ValidityLimits, now: float) -> float:
    """Unix time of ``sdt``; 0 (now) when absent or already past."""
    sdt = args.get("sdt")
    if sdt is None:
        return 0.0
    try:
        moment = resolve_smpp_time(sdt.decode("ascii"), datetime.fromtimestamp(now, UTC))
    except SmppTimeError:
        raise invalid("sdt", sdt) from None
    send_at = moment.timestamp() if moment is not None else 0.0
    if send_at > now + validity.maximum:
        raise JasminError(400, f"sdt is more than {validity.maximum:g} seconds ahead")
    return send_at if send_at > now else 0.0


def _callback(args: Args) -> Callback | None:
    url = args.get("dlr-url")
    if args.get("dlr") != b"yes" or url is None:
        return None
    try:
        checked = check_webhook_url(url.decode())
    except (UnicodeDecodeError, ValueError):
        raise invalid("dlr-url", url) from None
    method = args["dlr-method"].decode()
    return Callback(url=checked, form="jasmin", method=method, level=int(args["dlr-level"]))
