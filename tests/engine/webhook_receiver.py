"""A real HTTP/1.1 receiver for webhook tests (h11 over asyncio on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11
import msgspec

HANG = -1
"""A receiver answer: never reply (until the caller gives up)."""
HOLD = -2
"""A receiver answer: `Receiver.held_status` once the test sets `Receiver.release`."""


class ReceivedRequest(msgspec.Struct):
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)


class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 answering each request with the next scripted status."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.requests: list[ReceivedRequest] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.got_request = asyncio.Event()
        self.release = asyncio.Event()
        self.held_status = 200
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and end every connection (a held or hanging one too)."""
        assert self._server is not None
        self._server.close()
        self.release.set()
        for writer in list(self._writers):
            writer.close()
        await asyncio.gather(*self._handlers)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        try:
            await self._answer(reader, writer)
        except (ConnectionError, h11.RemoteProtocolError):
            pass
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER)
        request: ReceivedRequest | None = None
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await reader.read(65_536))
            elif isinstance(event, h11.Request):
                headers = {k.decode().lower(): v.decode() for k, v in event.headers}
                request = ReceivedRequest(
                    event.method.decode(), event.target.decode(), headers, b""
                )
            elif isinstance(event, h11.Data) and request is not None:
                request.body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                self.requests.append(request)
                self.got_request.set()
                status = self.answers.pop(0) if self.answers else 200
                if status == HANG:
                    await reader.read()  # until the caller gives up and closes
                    return
                if status == HOLD:
                    await self.release.wait()
                    status = self.held_status
                body = b"ok"
                response = h11.Response(status_code=status, headers=[("content-length", "2")])
                writer.write(connection.send(response) + connection.send(h11.Data(data=body)))
                writer.write(connection.send(h11.EndOfMessage()))
                await writer.drain()
                connection.start_next_cycle()
            else:
                return
