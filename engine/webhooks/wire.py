"""One webhook call as bytes: the request head built once, signed per attempt.

Everything a call sends but its timestamp and signature is fixed when the
call is first tried (request line, Host, our headers, Content-Length, the
body), so an attempt is one HMAC and one join. A call carries one delivery,
or, for an account with ``webhook_batch`` above 1, up to that many to the
same URL as a JSON array: a batch has its own ``Smsgw-Delivery-Id`` (each
element keeps its ``delivery_id``) and no ``Smsgw-Message-Id``, since it
tells of many.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

from engine.webhooks.connections import Origin
from engine.webhooks.http1 import request_head
from engine.webhooks.requests import USER_AGENT, WebhookDelivery, WebhookRequest
from engine.webhooks.signing import SCHEME, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_IN_TARGET = "!#$%&'()*+,/:;=?@[]~"
_REMEMBERED = 4_096
"""URLs whose parts are remembered (a GET dlr-url is one per delivery: they come and go)."""
"""Characters kept as they are in the request target; others (non-ASCII) are %-encoded."""


class WireRequest:
    """A call ready to send: ``encode(timestamp)`` gives each attempt's bytes."""

    __slots__ = ("_head", "_key", "body", "delivery_id", "origin")

    def __init__(
        self, origin: Origin, head: bytes, body: bytes, secret: str, delivery_id: str
    ) -> None:
        self.origin = origin
        self._head = head
        self.body = body
        self._key = secret
        self.delivery_id = delivery_id

    def encode(self, timestamp: int) -> bytes:
        """The request with a fresh timestamp and signature (when signed)."""
        if not self._key:
            return self._head + b"\r\n" + self.body
        stamp = str(timestamp)
        signed = (
            f"{TIMESTAMP_HEADER}: {stamp}\r\n"
            f"{SIGNATURE_HEADER}: {SCHEME}={signature(self._key, timestamp, self.body)}\r\n\r\n"
        )
        return b"".join((self._head, signed.encode(), self.body))


class _Target(NamedTuple):
    """What a URL gives every request to it."""

    origin: Origin
    path: str
    """The request target: path and query, %-encoded."""
    host: str
    """The Host header."""
    authorization: str
    """Basic credentials from the URL's user info; empty without."""


_targets: dict[str, _Target] = {}


def origin_of(url: str) -> Origin:
    """``(scheme, host, port)`` of a checked webhook URL: what a connection is kept for."""
    return _target_of(url).origin


def _target_of(url: str) -> _Target:
    """The URL taken apart, remembered: a customer's few URLs are parsed once, not per call."""
    known = _targets.get(url)
    if known is not None:
        return known
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    origin = scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS[scheme]
    path = quote(parts.path or "/", safe=_SAFE_IN_TARGET)
    if parts.query:
        path += "?" + quote(parts.query, safe=_SAFE_IN_TARGET)
    authorization = ""
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
    target = _Target(origin, path, _host_header(origin), authorization)
    if len(_targets) >= _REMEMBERED:
        _targets.clear()
    _targets[url] = target
    return target


def wire_request(
    requests: Sequence[WebhookRequest],
    deliveries: Sequence[WebhookDelivery],
    batched: bool = False,
) -> WireRequest:
    """One call for one request; or, ``batched``, for one or more ``json`` ones
    to the same URL (and secret) as a JSON array of their bodies (an array
    even of one, so that a receiver of batches sees one shape)."""
    first, delivery = requests[0], deliveries[0]
    if not batched:
        body, delivery_id, message_id = first.body, delivery.delivery_id, delivery.message_id
    else:
        body = b"[" + b",".join(request.body for request in requests) + b"]"
        delivery_id, message_id = secrets.token_hex(12), ""
    target = _target_of(first.url)
    headers = [("User-Agent", USER_AGENT), ("Smsgw-Event", delivery.event)]
    if message_id:
        headers.append(("Smsgw-Message-Id", message_id))
    headers.append(("Smsgw-Delivery-Id", delivery_id))
    if target.authorization:
        headers.append(("Authorization", target.authorization))
    if first.method == "POST":
        headers.append(("Content-Type", first.content_type))
        headers.append(("Content-Length", str(len(body))))
    head = request_head(first.method, target.path, target.host, headers)
    return WireRequest(target.origin, head, body, first.secret, delivery_id)


def _host_header(origin: Origin) -> str:
    scheme, host, port = origin
    try:
        name = f"[{host}]" if ":" in host else host.encode("idna").decode()
    except UnicodeError:  # no DNS name: its call fails when it is made, not here
        name = host
    return name if port == _DEFAULT_PORTS[scheme] else f"{name}:{port}"
