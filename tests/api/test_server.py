"""One send per answer: the writes of a loop turn are joined, never lost or reordered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.server import JoinedHttpToolsProtocol, JoinedWrites


class _Recorded(asyncio.Transport):
    """The socket side: what reached it, write by write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0


async def test_the_writes_of_one_turn_reach_the_socket_as_one() -> None:
    socket = _Recorded()
    joined = JoinedWrites(socket, asyncio.get_running_loop())
    joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
    joined.write(b"body")
    assert socket.writes == []
    assert joined.get_write_buffer_size() == 23
    await asyncio.sleep(0)
    assert socket.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    joined.write(b"next")
    await asyncio.sleep(0)
    assert socket.writes[1:] == [b"next"]


async def test_close_sends_what_was_kept_first() -> None:
    socket = _Recorded()
    joined = JoinedWrites(socket, asyncio.get_running_loop())
    joined.write(b"answer")
    joined.close()
    assert socket.writes == [b"answer"]
    assert joined.is_closing()
    await asyncio.sleep(0)
    assert socket.writes == [b"answer"]


async def _json(request: Request) -> Response:
    return JSONResponse({"n": int(request.path_params["n"])})


async def _stream(request: Request) -> Response:
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"one,", b"two,", b"three"):
            await asyncio.sleep(0.001)
            yield piece

    return StreamingResponse(pieces(), media_type="text/plain")


@pytest.fixture
async def port() -> AsyncIterator[int]:
    app = Starlette(routes=[Route("/n/{n}", _json), Route("/stream", _stream)])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http=JoinedHttpToolsProtocol, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    await task


async def _read_answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = [int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length:")]
    if length:
        return head, await reader.readexactly(length[0])
    body = b""
    while (size := int(await reader.readuntil(b"\r\n"), 16)) != 0:
        body += (await reader.readexactly(size + 2))[:-2]
    await reader.readexactly(2)
    return head, body


async def test_pipelined_answers_come_whole_and_in_order(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"".join(f"GET /n/{n} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for n in range(5))
        + b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"
        + b"GET /n/9 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    answers = [await _read_answer(reader) for _ in range(7)]
    assert [body for _, body in answers] == [
        *(b'{"n":%d}' % n for n in range(5)),
        b"one,two,three",
        b'{"n":9}',
    ]
    assert all(head.startswith(b"HTTP/1.1 200 OK\r\n") for head, _ in answers)
    assert await reader.read() == b""  # closed after the last answer was sent
    writer.close()
