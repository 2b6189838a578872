"""uvicorn (httptools, on the process's uvloop) serving the app inside the engine process.

uvicorn writes a response's head and its body as two ``transport.write``
calls; on an idle socket uvloop sends each at once, so every answer cost two
``send`` system calls and two TCP segments. `JoinedWrites` keeps the writes of
one loop turn and sends them joined at its end (as `smpp.aio.SmppConnection`
does for PDUs); `JoinedHttpToolsProtocol` puts it under uvicorn's own
protocol, which stays unchanged otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.app import create_app
from engine import Engine

_START_TIMEOUT = 10.0


class JoinedWrites(asyncio.Transport):
    """A transport whose writes of one loop turn go out as one write at its end.

    Everything else is the wrapped transport's; ``close`` sends what is kept
    first, so nothing written before a close is lost or reordered."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._kept: list[bytes | bytearray | memoryview] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._kept:
            self._loop.call_soon(self._send)
        self._kept.append(data)

    def _send(self) -> None:
        kept, self._kept = self._kept, []
        if kept and not self._transport.is_closing():
            self._transport.write(kept[0] if len(kept) == 1 else b"".join(kept))

    def close(self) -> None:
        self._send()
        self._transport.close()

    def abort(self) -> None:
        self._kept = []
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(data) for data in self._kept)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


class JoinedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through `JoinedWrites`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(JoinedWrites(transport, self.loop))


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """The engine's own two-phase SIGTERM stays in charge of the process."""
        yield


class HttpFront:
    """The HTTP listener of one shard; `stop` lets in-flight requests finish."""

    def __init__(self, engine: Engine, host: str, port: int) -> None:
        self._app = create_app(engine)
        config = uvicorn.Config(
            self._app,
            host=host,
            port=port,
            http=JoinedHttpToolsProtocol,
            lifespan="off",
            # The source is the socket's peer (docs/security.md): uvicorn's default
            # trusts X-Forwarded-For from loopback, and costs a middleware per request.
            proxy_headers=False,
            access_log=False,
            log_config=None,  # the process set-up formats and levels its loggers
            timeout_keep_alive=30,
            timeout_graceful_shutdown=10,
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        async with asyncio.timeout(_START_TIMEOUT):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                    raise RuntimeError("the HTTP front stopped while starting")
                await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._task is None:
            return
        self._app.state.stopping = True  # event streams end at their next tick
        self._server.should_exit = True
        await self._task
