"""The body limit over a real socket: a client that sends its whole body
before it reads still gets its 413 (on either of uvicorn's HTTP parsers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.limits import BodyLimit
from api.problems import HANDLERS
from api.server import JoinedHttpToolsProtocol

LIMIT = 1_000
BIG = 4 * 1_048_576
"""Far more than a socket buffers: a server that stops reading blocks the client."""


async def _echo(request: Request) -> Response:
    return Response(await request.body())


def _app(**limits: float) -> Starlette:
    return Starlette(
        routes=[Route("/echo", _echo, methods=["POST"])],
        middleware=[Middleware(BodyLimit, max_body_bytes=LIMIT, **limits)],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["httptools", "h11", JoinedHttpToolsProtocol])
async def port(request: pytest.FixtureRequest) -> AsyncIterator[int]:
    config = uvicorn.Config(
        _app(), host="127.0.0.1", port=0, http=request.param, lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await task


def _chunked(body: bytes) -> Iterator[bytes]:
    step = 65_536
    for start in range(0, len(body), step):
        piece = body[start : start + step]
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: Iterator[bytes]
) -> tuple[bytes, bytes]:
    """Sends the head and the whole body, and only then reads one answer."""
    writer.write(head)
    for piece in body:
        writer.write(piece)
        await writer.drain()
    status_and_headers = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in status_and_headers.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    return status_and_headers, await reader.readexactly(length)


def _head(framing: str) -> bytes:
    return f"POST /echo HTTP/1.1\r\nHost: t\r\n{framing}\r\n\r\n".encode()


@pytest.mark.parametrize("framing", ["declared", "chunked"])
async def test_a_client_sending_a_whole_body_over_the_limit_reads_its_413(
    port: int, framing: str
) -> None:
    body = b"x" * BIG
    if framing == "declared":
        head, pieces = _head(f"Content-Length: {BIG}"), iter([body])
    else:
        head, pieces = _head("Transfer-Encoding: chunked"), _chunked(body)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(20):
            status, answer = await _exchange(reader, writer, head, pieces)
            assert status.startswith(b"HTTP/1.1 413 ")
            assert b'"code":"body_too_large"' in answer
            # The body was read to its end: the same connection goes on.
            status, answer = await _exchange(
                reader, writer, _head("Content-Length: 2"), iter([b"ok"])
            )
            assert status.startswith(b"HTTP/1.1 200 ") and answer == b"ok"
    finally:
        writer.close()


async def test_a_client_waiting_for_100_continue_is_answered_at_once(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(5):
            writer.write(_head(f"Content-Length: {BIG}\r\nExpect: 100-continue"))
            status = (await reader.readuntil(b"\r\n\r\n")).lower()
        assert status.startswith(b"http/1.1 413 ") and b"connection: close" in status
    finally:
        writer.close()


async def test_a_body_past_the_discard_limit_closes_the_connection() -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length
        for _ in range(100):
            yield b"x" * 1_000

    transport = httpx.ASGITransport(app=_app(max_discard_bytes=10_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        small = await client.post("/echo", content=b"x" * 5_000)
        assert small.status_code == 413 and "connection" not in small.headers
        cut = await client.post("/echo", content=chunks())
        assert cut.status_code == 413 and cut.headers["connection"] == "close"
