"""Arguments of Jasmin's HTTP API, read and checked the way Jasmin does.

Jasmin takes its arguments from the query string and, for POST, from an
``application/x-www-form-urlencoded`` body or a JSON object (Content-Type
``application/json``); the first value of a repeated name counts. Values
stay bytes: for a data coding other than 0, ``content`` is sent as the
very octets the caller percent-encoded (Jasmin forwards them untouched).

The checks and their wording follow Jasmin's ``UrlArgsValidator``: with no
argument at all, "Mandatory arguments not found..."; an unknown name; a
mandatory one missing; a value that does not match its pattern. Jasmin checks
the first argument's name, then every field in a fixed order, then the other
names: the first failure is the answer, so the same request gets the same
error here.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import orjson


class JasminError(Exception):
    """A refusal in Jasmin's words: the HTTP status and the message it quotes."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        """Retry-After and RateLimit headers of a throttled or over-quota refusal."""


class Field:
    __slots__ = ("optional", "pattern")

    def __init__(self, optional: bool, pattern: str | None = None) -> None:
        self.optional = optional
        self.pattern = re.compile(pattern.encode(), re.DOTALL) if pattern else None


_CREDENTIAL = r"[^\r\n]{1,64}"
"""Jasmin allows 1 to 16 characters; our account ids and passwords may be longer."""
_CODING = r"(?:0|1|2|3|4|5|6|7|8|9|10|13|14)"
_SDT = r"\d{15}[-+R]"
"""SMPP time (§7.1.1): YYMMDDhhmmss, tenths, quarter hours, then +, - or R."""

SEND_FIELDS: dict[str, Field] = {
    "to": Field(False, r"\+?\d+"),
    "from": Field(True),
    "coding": Field(True, _CODING),
    "username": Field(False, _CREDENTIAL),
    "password": Field(False, _CREDENTIAL),
    "priority": Field(True, r"[0-3]"),
    "sdt": Field(True, _SDT),
    "validity-period": Field(True, r"\d{1,18}"),
    "dlr": Field(False, r"yes|no"),
    "dlr-url": Field(True, r"https?://.*"),
    "dlr-level": Field(True, r"[1-3]"),
    "dlr-method": Field(True, r"GET|POST"),
    "tags": Field(True, r"[-a-zA-Z0-9,]*"),
    "content": Field(True),
    "hex-content": Field(True),
    "custom_tlvs": Field(True),
}
RATE_FIELDS: dict[str, Field] = {
    name: SEND_FIELDS[name]
    for name in (
        "to", "from", "coding", "username", "password", "priority", "validity-period", "tags",
        "content", "hex-content",
    )
}  # fmt: skip
"""/rate takes /send's fields that price a message, checked the same way, in the same order."""
BALANCE_FIELDS: dict[str, Field] = {name: SEND_FIELDS[name] for name in ("username", "password")}

Args = dict[str, bytes]


def parse_query(query: bytes) -> Args:
    """Names to the raw octets of their first value (``%XX`` decoded, ``+`` a space)."""
    args: Args = {}
    for name, value in parse_qsl(
        query.decode("latin-1"), keep_blank_values=True, encoding="latin-1"
    ):
        args.setdefault(_name(name.encode("latin-1")), value.encode("latin-1"))
    return args


def parse_json(body: bytes) -> Args:
    """A JSON object's members as arguments (strings as UTF-8, numbers as digits)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise JasminError(400, f"Invalid JSON body: {exc}") from None
    if not isinstance(document, dict):
        raise JasminError(400, "Invalid JSON body: not an object")
    args: Args = {}
    for name, value in document.items():
        if isinstance(value, str):
            args[name] = value.encode()
        elif isinstance(value, int | float) and not isinstance(value, bool):
            args[name] = str(value).encode()
        elif name == "custom_tlvs":
            args[name] = b"[...]"
        else:
            raise JasminError(400, f"Argument [{name}] has an invalid value: [{value!r:.60}].")
    return args


def validate(args: Args, fields: dict[str, Field]) -> None:
    """Jasmin's checks, in Jasmin's order (see the module docstring)."""
    if not args:
        raise JasminError(
            400, "Mandatory arguments not found, please refer to the HTTPAPI specifications."
        )
    names = list(args)
    _known(names[0], fields)
    for name, field in fields.items():
        value = args.get(name)
        if value is None:
            if not field.optional:
                raise JasminError(400, f"Mandatory argument [{name}] is not found.")
        elif field.pattern is not None and field.pattern.fullmatch(value) is None:
            raise invalid(name, value)
    for name in names[1:]:
        _known(name, fields)


def invalid(name: str, value: bytes) -> JasminError:
    shown = value[:80].decode("utf-8", "replace")
    return JasminError(400, f"Argument [{name}] has an invalid value: [{shown}].")


def _known(name: str, fields: dict[str, Field]) -> None:
    if name not in fields:
        raise JasminError(400, f"Argument [{name[:60]}] is unknown.")


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
