"""uvicorn (httptools, on the process's uvloop) serving the app inside the engine process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn

from api.app import create_app
from engine import Engine

_START_TIMEOUT = 10.0


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """The engine's own two-phase SIGTERM stays in charge of the process."""
        yield


class HttpFront:
    """The HTTP listener of one shard; `stop` lets in-flight requests finish."""

    def __init__(self, engine: Engine, host: str, port: int) -> None:
        config = uvicorn.Config(
            create_app(engine),
            host=host,
            port=port,
            http="httptools",
            lifespan="off",
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
        self._server.should_exit = True
        await self._task
