"""Request size limit, enforced before any handler reads the body.

A declared Content-Length over the limit is refused before the body is
buffered; a chunked body is counted as it streams and cut off at the limit,
so no handler ever holds more than ``max_body_bytes``.

The 413 must reach a client that sends its whole body before it reads (one
that does not ask ``Expect: 100-continue``): closing a socket with unread
data makes the kernel answer with a reset, which destroys the 413 on its way.
So the rest of the body is read and dropped first, up to ``max_discard_bytes``
and ``discard_seconds`` (RFC 9112 §9.6 asks a server that closes early to
keep reading a while); past that, or when the client waits for ``100
Continue`` and so has sent nothing yet, the 413 says ``Connection: close``.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem

DISCARD_BYTES = 16 * 1_048_576
DISCARD_SECONDS = 10.0


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_discard_bytes: int = DISCARD_BYTES,
        discard_seconds: float = DISCARD_SECONDS,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_discard_bytes = max_discard_bytes
        self.discard_seconds = discard_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            waits = headers.get(b"expect", b"").lower() == b"100-continue"
            drained = not waits and await self._drain(receive, 0)
            await _too_large(self.max_body_bytes, drained).response()(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    more = message.get("more_body", False)
                    raise _too_large(
                        self.max_body_bytes, not more or await self._drain(receive, seen)
                    )
            return message

        await self.app(scope, counted, send)

    async def _drain(self, receive: Receive, seen: int) -> bool:
        """Reads the rest of the body and drops it; False if it ran past the
        discard limits (the connection is then closed after the answer)."""
        try:
            async with asyncio.timeout(self.discard_seconds):
                while seen <= self.max_discard_bytes:
                    message = await receive()
                    if message["type"] != "http.request":
                        return False
                    seen += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return True
        except TimeoutError:
            pass
        return False


def _too_large(limit: int, drained: bool) -> Problem:
    headers = None if drained else {"Connection": "close"}
    return Problem(
        413, "body_too_large", "Request body too large", f"at most {limit} bytes", headers=headers
    )
