"""The little of HTTP/1.1 a webhook call needs, without I/O (RFC 9112).

A webhook sends one request and wants one thing back: the status. So the
request head is bytes built by one format, and the response parser reads the
status line, the three headers that frame the body and say whether the
connection lives on (``Content-Length``, ``Transfer-Encoding``,
``Connection``), then skips the body (by length, by chunks, or to the end of
the connection) so that the connection can carry the next call. A body
longer than `BODY_LIMIT` is not read: the connection is closed instead.
Input is bounded: a head longer than `HEAD_LIMIT` is a protocol error.
"""

from __future__ import annotations

from collections.abc import Iterable

HEAD_LIMIT = 65_536
"""Bytes of a response's status line and headers, at most."""
BODY_LIMIT = 65_536
"""Bytes of a response body skipped to keep the connection; past that it is closed."""
_CHUNK_LINE_LIMIT = 1_024
_NO_BODY = frozenset({204, 304})
_HEX_DIGITS = b"0123456789abcdefABCDEF"


class RemoteProtocolError(Exception):
    """The receiver's answer is not HTTP/1.1 as we can read it."""


def request_head(method: str, target: str, host: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """The request line and headers, each ended by CRLF; the blank line that
    ends the head is the caller's to add (after headers made per attempt).

    ``target`` is the path and query, %-encoded; ``host`` the Host header
    (with a port when not the scheme's default). The caller passes
    Content-Length for a body (GET has none).
    """
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append("")
    return "\r\n".join(lines).encode("latin-1")


class ResponseParser:
    """Feed it bytes (`feed`) until it says the response is complete.

    After a complete response, ``status`` is its status and ``reusable``
    says whether the connection may carry another request. 1xx answers
    (``100 Continue``, ``103 Early Hints``) are skipped, as RFC 9110 §15.2 asks.
    """

    __slots__ = (
        "_body",
        "_buffer",
        "_chunk",
        "_left",
        "_read",
        "done",
        "reusable",
        "status",
        "too_long",
    )

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._body = ""
        """"" while in the head; then "length", "chunked" or "close"."""
        self._left = 0
        """Bytes of the body (or of the current chunk) still to skip."""
        self._read = 0
        """Bytes of the body skipped so far."""
        self._chunk = "size"
        """In a chunked body: "size", "data", "crlf" or "trailer"."""
        self.status: int | None = None
        self.reusable = False
        self.done = False
        self.too_long = False
        """The body was longer than `BODY_LIMIT`: the status stands, the connection does not."""

    def feed(self, data: bytes) -> bool:
        """Take received bytes; True once the response is complete (or its body too long)."""
        if self.done:
            return True
        if not self._body:
            self._buffer += data
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > HEAD_LIMIT:
                    raise RemoteProtocolError(f"response head longer than {HEAD_LIMIT} bytes")
                return False
            head = bytes(self._buffer[:end])
            rest = bytes(self._buffer[end + 4 :])
            self._buffer.clear()
            if not self._head(head):  # a 1xx: the real answer follows
                return self.feed(rest)
            if self.done:
                return True
            data = rest
        return self._skip(data)

    def end_of_stream(self) -> bool:
        """The peer closed: True if that completes the response (a body read to the end)."""
        if self._body == "close" and not self.done:
            self.done = True
        return self.done

    def _head(self, head: bytes) -> bool:
        """Parse a head; False for a 1xx answer, which is skipped."""
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise RemoteProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        status = int(code)
        if status < 200:
            return False
        length: int | None = None
        chunked = False
        keep_alive = version == b"HTTP/1.1"
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                raise RemoteProtocolError(f"malformed header line: {line[:80]!r}")
            name = name.strip().lower()
            if name == b"content-length":
                value = value.strip()
                if not value.isdigit() or (length is not None and length != int(value)):
                    raise RemoteProtocolError(f"bad Content-Length: {value[:40]!r}")
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value.strip().lower().endswith(b"chunked")
            elif name == b"connection":
                tokens = {token.strip() for token in value.lower().split(b",")}
                keep_alive = b"close" not in tokens and (keep_alive or b"keep-alive" in tokens)
        self.status = status
        if status in _NO_BODY or (length == 0 and not chunked):
            self._finish(keep_alive)
        elif chunked:
            self._body, self._chunk, self.reusable = "chunked", "size", keep_alive
        elif length is not None:
            self._body, self._left, self.reusable = "length", length, keep_alive
        else:
            self._body = "close"
        return True

    def _finish(self, reusable: bool) -> None:
        self._body = "done"
        self.reusable = reusable
        self.done = True

    def _skip(self, data: bytes) -> bool:
        if self._body == "length":
            if len(data) >= self._left:
                self._finish(self.reusable and len(data) == self._left)
                return True
            self._left -= len(data)
            return self._too_long(len(data))
        if self._body == "chunked":
            return self._chunks(data)
        return self._too_long(len(data))

    def _too_long(self, read: int) -> bool:
        self._read += read
        if self._left > BODY_LIMIT or self._read > BODY_LIMIT:
            self.too_long = True
            self._finish(False)
        return self.done

    def _chunks(self, data: bytes) -> bool:
        buffer = self._buffer
        buffer += data
        at = 0
        while True:
            if self._chunk == "data":
                taken = min(self._left, len(buffer) - at)
                at += taken
                self._left -= taken
                if self._left:
                    break
                self._chunk = "crlf"
            if self._chunk in ("size", "crlf", "trailer"):
                end = buffer.find(b"\r\n", at)
                if end < 0:
                    if len(buffer) - at > _CHUNK_LINE_LIMIT:
                        raise RemoteProtocolError("chunk line too long")
                    break
                line = bytes(buffer[at:end])
                at = end + 2
                if self._chunk == "crlf":
                    if line:
                        raise RemoteProtocolError("chunk data not followed by CRLF")
                    self._chunk = "size"
                elif self._chunk == "trailer":
                    if not line:
                        del buffer[:at]
                        self._finish(self.reusable and not buffer)
                        return True
                else:
                    self._chunk_size(line)
        del buffer[:at]
        return self._too_long(at)

    def _chunk_size(self, line: bytes) -> None:
        size = line.partition(b";")[0].strip()
        if not size or len(size) > 16 or size.strip(_HEX_DIGITS):
            raise RemoteProtocolError(f"bad chunk size: {size[:20]!r}")
        self._left = int(size, 16)
        self._chunk = "data" if self._left else "trailer"
