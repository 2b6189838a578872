"""The customer's callback receiver of `bench.http`'s count mode: one small
HTTP/1.1 server process that both gateways call (smsgw's receipt webhooks,
Kannel's dlr-url), so neither is measured against a slower receiver.

It counts callbacks per message, keyed by the recipient number (every
message of a run goes to a new number): the ``to`` query parameter when the
URL has one (the bench puts it in each Kannel dlr-url), else the ``to`` of
each JSON object in the body (an smsgw webhook, or a list of them if a
gateway batches). It answers every callback ``204`` at once, keeping the
connection alive, and records the wall-clock time (``time.time()``, which
every process on the machine shares) at which the number of distinct
messages last grew: a late duplicate does not move the end of a run.

``GET /stats`` answers the counters as JSON, ``POST /reset`` zeroes them.
``python -m bench.callback_sink --port 0`` prints one JSON line when
listening (``{"event": "listening", "port": ...}``) and runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from typing import Any, cast
from urllib.parse import parse_qs

import httptools
import orjson
import uvloop

_NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_BODY = 1 << 20
"""Bytes of one request body; a larger one is refused and its connection closed."""


class CallbackCounts:
    """Callbacks per message key and the time of the last new key."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.per_message: dict[str, int] = {}
        self.callbacks = 0
        self.unkeyed = 0
        """Callbacks in which no message key was found (a receiver would reject them)."""
        self.first_at = 0.0
        self.last_new_at = 0.0

    def add(self, keys: list[str]) -> None:
        now = time.time()
        self.callbacks += 1
        if not self.first_at:
            self.first_at = now
        if not keys:
            self.unkeyed += 1
        per_message = self.per_message
        for key in keys:
            seen = per_message.get(key, 0)
            per_message[key] = seen + 1
            if not seen:
                self.last_new_at = now

    def stats(self) -> dict[str, Any]:
        messages = len(self.per_message)
        keyed = sum(self.per_message.values())
        return {
            "callbacks": self.callbacks,
            "messages": messages,
            "duplicates": keyed - messages,
            "unkeyed": self.unkeyed,
            "first_at": self.first_at,
            "last_new_at": self.last_new_at,
        }


def message_keys(target: bytes, body: bytes) -> list[str]:
    """The recipients a callback reports on: ``to`` in the query string, or in
    the JSON body (one object or a list of them)."""
    _, _, query = target.partition(b"?")
    if query:
        found = parse_qs(query.decode("latin-1")).get("to")
        if found:
            return found
    if not body:
        return []
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    items = payload if isinstance(payload, list) else [payload]
    return [str(item["to"]) for item in items if isinstance(item, dict) and "to" in item]


class SinkConnection(asyncio.Protocol):
    """One keep-alive connection: parse requests with httptools, answer each at once."""

    def __init__(self, counts: CallbackCounts) -> None:
        self.counts = counts
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.target = b""
        self.body: list[bytes] = []
        self.size = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._refuse()

    def _refuse(self) -> None:
        if self.transport is not None:
            self.transport.write(_BAD_REQUEST)
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.target, self.body, self.size = b"", [], 0

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_BODY:
            self._refuse()
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        method = self.parser.get_method()
        if self.target == b"/stats":
            answer = orjson.dumps(self.counts.stats())
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
            )
        elif self.target == b"/reset" and method == b"POST":
            self.counts.reset()
            self.transport.write(_NO_CONTENT)
        else:
            self.counts.add(message_keys(self.target, b"".join(self.body)))
            self.transport.write(_NO_CONTENT)
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    counts = CallbackCounts()
    server = await loop.create_server(lambda: SinkConnection(counts), host, port)
    bound = server.sockets[0].getsockname()[1]
    listening = {"event": "listening", "host": host, "port": bound, "pid": os.getpid()}
    print(orjson.dumps(listening).decode(), flush=True)
    await stopping.wait()
    server.close()
    print(orjson.dumps({"event": "stopped", "stats": counts.stats()}).decode(), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.callback_sink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    uvloop.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
