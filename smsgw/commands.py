"""The engine's subcommands: `smsgw dev`, `smsgw serve`, `smsgw hash-password`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import structlog
from prometheus_client import start_http_server

from engine.config import ConfigError, load_config_file
from engine.customers.passwords import hash_password
from engine.loop.cancelling import cancelled
from engine.loop.collector import settle_collector
from smsgw.logs import configure_logging, set_levels
from smsgw.preflight import Endpoint, StartupError, check_listeners, listen_error

log = structlog.get_logger("smsgw")


def register_commands(subparsers: Any) -> None:
    dev = subparsers.add_parser("dev", help="run the whole gateway embedded (nothing durable)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=2775, help="SMPP port")
    dev.add_argument("--api-port", type=int, default=8080, help="HTTP port; -1 turns it off")
    dev.set_defaults(handler=_dev)

    serve = subparsers.add_parser("serve", help="run one shard with Redis and PostgreSQL")
    serve.add_argument("--config", default=os.environ.get("SMSGW_CONFIG", "smsgw.toml"))
    serve.add_argument(
        "--host",
        default=os.environ.get("SMSGW_HOST"),
        help="interface of the listeners, HTTP front and metrics the config leaves unset "
        "(default $SMSGW_HOST, else 127.0.0.1)",
    )
    serve.add_argument(
        "--no-database",
        action="store_true",
        help="run without SMSGW_DATABASE_URL: no message history, no ledger events persisted",
    )
    serve.set_defaults(handler=_serve)

    hashing = subparsers.add_parser("hash-password", help="hash a bind password for the config")
    hashing.set_defaults(handler=_hash_password)


def _hash_password(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass()
    if not 1 <= len(password) <= 8:
        print("an SMPP password has 1 to 8 characters (SMPP 3.4 §4.1.1)", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _dev(args: argparse.Namespace) -> int:
    from smsgw.dev import banner, dev_console, dev_engine, start_dev

    configure_logging(json=False)

    async def run(stopping: asyncio.Event) -> None:
        gateway, simulator, password, history = await start_dev(args.host, args.port)
        front = None
        try:
            api_port, api_key, console = 0, "", None
            if args.api_port >= 0:
                engine, api_key = await dev_engine(gateway, history)
                console = await dev_console(engine, args.host)
                front = await _start_front(engine, args.host, args.api_port)
                api_port = front.port
            print(banner(gateway, args.host, password, api_port, api_key, console), flush=True)
            await stopping.wait()
        finally:
            if front is not None:
                await front.stop()
            await gateway.stop()
            await simulator.stop()

    return _run_listening("smsgw dev", run)


def _serve(args: argparse.Namespace) -> int:
    from smsgw.production import start_production

    try:
        config = load_config_file(args.config, args.host)
    except (OSError, ConfigError) as exc:
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 2

    database_url = os.environ.get("SMSGW_DATABASE_URL") or None
    refusal = _database_refusal(database_url, args.no_database)
    if refusal:
        print(f"smsgw: {refusal}", file=sys.stderr)
        return 2
    configure_logging(json=True, level=config.logging.level, levels=config.logging.levels)
    if database_url is None:
        log.warning("no database: no message history; ledger events wait in Redis")

    async def start(stack: AsyncExitStack) -> None:
        """Every listener is checked before anything starts; each part that
        starts puts its closing on ``stack`` (`start_production`)."""
        check_listeners(config)
        engine = await start_production(config, stack, database_url)
        gateway = engine.gateway
        if config.metrics_port:
            endpoint = Endpoint("metrics", "metrics_port", config.metrics_host, config.metrics_port)
            try:
                server, _ = start_http_server(endpoint.port, endpoint.host, gateway.registry)
            except OSError as exc:
                raise listen_error(endpoint, exc) from None
            stack.push_async_callback(asyncio.to_thread, server.shutdown)
        if config.api.port:
            front = await _start_front(engine, config.api.host, config.api.port)
            stack.push_async_callback(front.stop)
            log.info("http front listening", host=config.api.host, port=front.port)
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, lambda: reload_config(gateway, args.config, args.host)
        )

    async def run(stopping: asyncio.Event) -> None:
        async with AsyncExitStack() as stack:
            if await _unless_stopped(start(stack), stopping):
                await stopping.wait()

    return _run_listening("smsgw serve", run)


def _database_refusal(database_url: str | None, no_database: bool) -> str:
    """Why `serve` will not run with this database setting ("" when it will):
    running without one is a choice made out loud, never a missing variable."""
    if database_url is None and not no_database:
        return (
            "SMSGW_DATABASE_URL is not set — set it (and run `smsgw migrate`), "
            "or pass --no-database to keep no history"
        )
    if database_url is not None and no_database:
        return "--no-database, yet SMSGW_DATABASE_URL is set — drop one of them"
    return ""


async def _unless_stopped(starting: Awaitable[None], stopping: asyncio.Event) -> bool:
    """Awaits ``starting``; a signal meanwhile cancels it (returns False), so
    SIGTERM ends a start that waits for Redis or for a peer's outbox."""
    start = asyncio.ensure_future(starting)
    signalled = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({start, signalled}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        signalled.cancel()
        await cancelled(start)
    if start.cancelled():
        return False
    start.result()
    return True


async def _start_front(engine: Any, host: str, port: int) -> Any:
    """The HTTP front. The CLI composes the process, so it is the one place in
    engine/ that knows api/ (imported here, never at module level)."""
    from api.server import HttpFront

    front = HttpFront(engine, host, port)
    await front.start()
    return front


def reload_config(gateway: Any, path: str, default_host: str | None = None) -> None:
    """SIGHUP: re-read the file; apply routes, accounts and log levels without dropping binds.
    A file with errors changes nothing (every error is logged)."""
    try:
        config = load_config_file(path, default_host)
    except (OSError, ConfigError) as exc:
        log.error("reload refused", path=path, error=str(exc))
        return
    set_levels(config.logging.level, config.logging.levels)
    changed = gateway.reload(config)
    log.info("reloaded", path=path, **changed)


def _run_listening(command: str, main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """`run_until_signalled`, with what kept it from starting said in one line
    and exit status 1 (`StartupError`), or 2 for a port that cannot be
    listened on (taken, not permitted), not a traceback."""
    try:
        return run_until_signalled(main)
    except StartupError as exc:
        print(f"smsgw: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{command}: {exc.strerror or exc}", file=sys.stderr)
        return 2


LEFTOVER_WAIT = 5.0
"""Seconds the tasks still running when ``main`` returns get to end once cancelled."""


def run_until_signalled(main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """Run ``main`` on uvloop until SIGINT/SIGTERM sets its event (it then
    drains and returns: exit 0). A second signal, or any signal once ``main``
    has ended, exits at once with 128 + the signal's number; tasks that ignore
    their cancellation after ``main`` ended cannot keep the process alive."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        runner = asyncio.run

    async def supervise() -> None:
        settle_collector()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            if stopping.is_set():
                _exit_now(128 + signum, f"{signal.Signals(signum).name} again: exiting at once")
            log.info("stopping", signal=signal.Signals(signum).name)
            stopping.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            await main(stopping)
        finally:
            stopping.set()
            await _end_leftovers()

    runner(supervise())
    return 0


async def _end_leftovers() -> None:
    """Cancels what ``main`` left running (again while it runs: `cancelled`);
    a task still there after `LEFTOVER_WAIT` (one that swallows every
    cancellation) ends the process."""
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current]
    if not leftovers:
        return
    await asyncio.wait(
        [asyncio.ensure_future(cancelled(t)) for t in leftovers], timeout=LEFTOVER_WAIT
    )
    stuck = [task for task in leftovers if not task.done()]
    if stuck:
        names = ", ".join(sorted(getattr(t.get_coro(), "__qualname__", "?") for t in stuck))
        _exit_now(1, f"tasks ignored their cancellation: {names}")


def _exit_now(status: int, why: str) -> None:
    log.error("exiting at once", reason=why, status=status)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
