"""What one webhook call sends, built without I/O.

Two forms exist:

- ``json``: our v1 webhook, a POST of the caller's dict as JSON, signed with
  the account's webhook secret when it has one (`engine.webhooks.signing`).
- ``jasmin``: Jasmin's dlr-url callback, the caller's fields as a query string
  (GET) or as an ``application/x-www-form-urlencoded`` body (POST). These are
  never signed: Jasmin never signed them, and receivers written for Jasmin
  would not look for a signature. Customers who need to trust the caller
  should move to the ``json`` form (or put a secret token in the URL).

The body is encoded once, when the delivery is submitted; the request head
once, at the first attempt (`engine.webhooks.wire`); only the timestamp and
signature are made again for each attempt. Every delivery has
its own id (``Smsgw-Delivery-Id``, and ``delivery_id`` in a ``json`` body),
the same on each of its attempts: a receiver that got an attempt whose answer
was lost sees the retry is one it has already handled.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import msgspec
import orjson

MAX_URL_LENGTH = 2048
USER_AGENT = "smsgw-webhooks/1"
_FORMS = frozenset({"json", "jasmin"})
_METHODS = frozenset({"POST", "GET"})
_SCHEMES = frozenset({"http", "https"})

Form = Literal["json", "jasmin"]
Method = Literal["POST", "GET"]


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event to tell an HTTP customer about, as the pipeline hands it over."""

    account: str
    message_id: str
    url: str
    """Already checked with `check_webhook_url` where it entered (API or config)."""
    payload: dict[str, Any]
    """The JSON object (``json``) or the form fields (``jasmin``)."""
    form: Form = "json"
    method: Method = "POST"
    """Only the ``jasmin`` form may use GET."""
    secret: str = ""
    """The account's webhook secret; empty sends the ``json`` form unsigned."""
    event: str = "receipt"
    delivery_id: str = msgspec.field(default_factory=lambda: secrets.token_hex(12))
    """Unique per delivery, shared by its attempts."""
    batch: int = 1
    """Deliveries of the ``json`` form to this URL that may share one POST, as
    a JSON array (the account's ``webhook_batch``); 1 sends each alone."""

    def __post_init__(self) -> None:
        if self.form not in _FORMS:
            raise ValueError(f"webhook form must be 'json' or 'jasmin', not {self.form!r}")
        if self.method not in _METHODS:
            raise ValueError(f"webhook method must be 'POST' or 'GET', not {self.method!r}")
        if self.form == "json" and self.method != "POST":
            raise ValueError("json webhooks are sent by POST only")
        if self.batch < 1:
            raise ValueError(f"webhook batch must be at least 1, not {self.batch!r}")


class WebhookRequest(msgspec.Struct, frozen=True):
    """A delivery encoded for the wire: what every attempt of it sends."""

    method: Method
    url: str
    body: bytes
    content_type: str
    """Empty for GET, which has no body."""
    secret: str
    """Signs the body when not empty."""


def encode_delivery(delivery: WebhookDelivery, max_bytes: int) -> WebhookRequest:
    """The request of a delivery; ValueError when its payload exceeds ``max_bytes``.

    For GET the limit applies to the query string, which carries the payload.
    """
    if delivery.form == "json":
        body = _json({"delivery_id": delivery.delivery_id, **delivery.payload})
        request = WebhookRequest("POST", delivery.url, body, "application/json", delivery.secret)
        size = len(body)
    else:
        fields = urlencode(delivery.payload)
        size = len(fields)
        if delivery.method == "GET":
            request = WebhookRequest("GET", _with_query(delivery.url, fields), b"", "", "")
        else:
            content_type = "application/x-www-form-urlencoded"
            request = WebhookRequest("POST", delivery.url, fields.encode(), content_type, "")
    if size > max_bytes:
        raise ValueError(f"webhook payload is {size} bytes, over the limit of {max_bytes}")
    return request


def _json(payload: dict[str, Any]) -> bytes:
    """orjson's output copied to its own size: orjson leaves each result in a buffer of
    about 4 KB, which a queue of 100,000 waiting deliveries would hold (400 MB, not 15)."""
    return bytes(memoryview(orjson.dumps(payload)))


def _with_query(url: str, fields: str) -> str:
    """The URL with the fields appended to any query it already has (Jasmin does the same)."""
    parts = urlsplit(url)
    query = f"{parts.query}&{fields}" if parts.query else fields
    return urlunsplit(parts._replace(query=query))


def check_webhook_url(url: str) -> str:
    """The URL, if a webhook may be sent to it; otherwise ValueError saying why.

    For the API edge and config load. Only the shape is checked; which hosts
    may be called (private addresses, metadata endpoints) is not decided here.
    """
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"webhook URL is {len(url)} characters long, at most {MAX_URL_LENGTH}")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValueError("webhook URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"webhook URL is malformed: {exc}") from None
    if parts.scheme.lower() not in _SCHEMES:
        scheme = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise ValueError(f"webhook URL must use http: or https:, not {scheme}")
    if not parts.hostname:
        raise ValueError("webhook URL has no host")
    if port == 0:
        raise ValueError("webhook URL port must be in 1..65535")
    return url
