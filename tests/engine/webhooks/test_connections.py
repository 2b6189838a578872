"""The webhook client's connections against a real scripted HTTP server on loopback:
keep-alive reuse, chunked bodies, connections the server closes, timeouts, TLS."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from engine.webhooks.connections import (
    AnswerTimeout,
    ConnectError,
    ConnectionPool,
    HostRefused,
    Origin,
    ReadError,
)
from engine.webhooks.guard import AddressGuard
from engine.webhooks.http1 import BODY_LIMIT, RemoteProtocolError

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
CLOSE = b""
"""A script's answer: close the connection without answering."""
HANG = None
"""A script's answer: say nothing, keep the connection open."""
REQUEST = b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"

Script = Callable[[int, int], bytes | None]
"""(connection number, request number on it) -> the bytes to answer."""


class ScriptedServer:
    """Reads whole requests (framed by Content-Length) and answers what the script says."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self._writers.append(writer)
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                served += 1
                answer = self.script(number, served)
                if answer is None:
                    await reader.read()
                    return
                if not answer:
                    return
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., asyncio.Future[ScriptedServer]]]:
    servers: list[ScriptedServer] = []

    async def start(script: Script, tls: ssl.SSLContext | None = None) -> ScriptedServer:
        server = ScriptedServer(script, tls)
        await server.start()
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        await server.close()


def pool(**options: object) -> ConnectionPool:
    return ConnectionPool(AddressGuard(private_networks=True), **options)  # type: ignore[arg-type]


def origin(server: ScriptedServer, scheme: str = "http") -> Origin:
    return scheme, "127.0.0.1", server.port


async def test_keep_alive_carries_many_calls_on_one_connection(serve) -> None:
    server = await serve(lambda connection, request: OK)
    client = pool()
    for _ in range(5):
        answer = await client.request(origin(server), REQUEST, 2.0)
        assert (answer.status, answer.reusable) == (200, True)
    assert server.connections == 1 and len(server.requests) == 5
    assert client.opened == 1
    client.close()


async def test_calls_at_once_open_a_connection_each_then_reuse_them(serve) -> None:
    server = await serve(lambda connection, request: OK)
    client = pool()
    for _ in range(3):
        await asyncio.gather(*(client.request(origin(server), REQUEST, 2.0) for _ in range(4)))
    assert server.connections == 4 and len(server.requests) == 12
    client.close()


async def test_a_chunked_answer_is_read_to_its_end_and_the_connection_kept(serve) -> None:
    chunked = (
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1a\r\n" + b"x" * 26 + b"\r\n0\r\nTrailer: yes\r\n\r\n"
    )
    server = await serve(lambda connection, request: chunked if request == 1 else OK)
    client = pool()
    first = await client.request(origin(server), REQUEST, 2.0)
    second = await client.request(origin(server), REQUEST, 2.0)
    assert (first.status, second.status) == (202, 200)
    assert server.connections == 1
    client.close()


async def test_connection_close_is_honoured(serve) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    server = await serve(lambda connection, request: closing)
    client = pool()
    for _ in range(3):
        assert (await client.request(origin(server), REQUEST, 2.0)).status == 200
    assert server.connections == 3
    client.close()


async def test_an_idle_connection_the_server_dropped_is_replaced_without_a_failure(
    serve,
) -> None:
    # The first connection's second request finds it closed (a receiver's
    # keep-alive timeout racing our call): it goes again on a new connection.
    server = await serve(lambda connection, request: CLOSE if request == 2 else OK)
    client = pool()
    assert (await client.request(origin(server), REQUEST, 2.0)).status == 200
    assert (await client.request(origin(server), REQUEST, 2.0)).status == 200
    assert server.connections == 2 and client.opened == 2


async def test_a_new_connection_closed_before_the_answer_is_an_error(serve) -> None:
    server = await serve(lambda connection, request: CLOSE)
    client = pool()
    with pytest.raises(ReadError):
        await client.request(origin(server), REQUEST, 2.0)
    assert server.connections == 1  # not tried again: it may have been handled


async def test_no_answer_in_time_is_a_timeout_and_the_connection_is_dropped(serve) -> None:
    server = await serve(lambda connection, request: HANG if connection == 1 else OK)
    client = pool()
    with pytest.raises(AnswerTimeout):
        await client.request(origin(server), REQUEST, 0.1)
    assert (await client.request(origin(server), REQUEST, 2.0)).status == 200
    assert server.connections == 2
    client.close()


async def test_a_status_that_came_in_time_counts_though_its_body_did_not(serve) -> None:
    partial = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
    slow = b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nok"
    server = await serve(lambda connection, request: slow if connection == 1 else partial)
    client = pool()
    answer = await client.request(origin(server), REQUEST, 0.2)
    assert (answer.status, answer.reusable) == (201, False)
    assert (await client.request(origin(server), REQUEST, 2.0)).status == 204
    assert server.connections == 2
    client.close()


async def test_a_body_longer_than_the_limit_is_not_read(serve) -> None:
    huge = f"HTTP/1.1 200 OK\r\nContent-Length: {BODY_LIMIT + 1}\r\n\r\n".encode()
    server = await serve(lambda connection, request: huge)
    client = pool()
    answer = await client.request(origin(server), REQUEST, 2.0)
    assert (answer.status, answer.too_long) == (200, True)
    await client.request(origin(server), REQUEST, 2.0)
    assert server.connections == 2
    client.close()


async def test_a_garbled_answer_is_a_protocol_error(serve) -> None:
    server = await serve(lambda connection, request: b"SMTP ready\r\n\r\n")
    client = pool()
    with pytest.raises(RemoteProtocolError):
        await client.request(origin(server), REQUEST, 2.0)


async def test_a_refused_connection_is_a_connect_error() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    with pytest.raises(ConnectError):
        await pool().request(("http", "127.0.0.1", port), REQUEST, 2.0)


async def test_connections_go_only_to_addresses_the_guard_checked(serve) -> None:
    server = await serve(lambda connection, request: OK)
    refusing = ConnectionPool(AddressGuard(private_networks=False))
    with pytest.raises(HostRefused, match="non-public"):
        await refusing.request(("http", "localhost", server.port), REQUEST, 2.0)
    guard = AddressGuard(private_networks=False, allowed_networks=["127.0.0.0/8", "::1"])
    refusal, addresses = await guard.resolve("localhost")
    assert refusal is None and "127.0.0.1" in addresses
    allowing = ConnectionPool(guard)
    assert (await allowing.request(("http", "localhost", server.port), REQUEST, 2.0)).status == 200
    allowing.close()


async def test_unused_connections_are_closed_after_the_idle_time(serve) -> None:
    server = await serve(lambda connection, request: OK)
    client = pool(idle_timeout=0.05)
    await client.request(origin(server), REQUEST, 2.0)
    for _ in range(100):
        if not client._idle:
            break
        await asyncio.sleep(0.01)
    assert not client._idle
    await client.request(origin(server), REQUEST, 2.0)
    assert server.connections == 2
    client.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl's command line)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1"
    command += " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_verifies_the_certificate_and_keeps_the_connection(
    serve, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = await serve(lambda connection, request: OK, server_tls)
    untrusting = pool()
    with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await untrusting.request(origin(server, "https"), REQUEST, 2.0)
    trusting = pool(tls=ssl.create_default_context(cafile=cert))
    for _ in range(3):
        assert (await trusting.request(origin(server, "https"), REQUEST, 2.0)).status == 200
    assert trusting.opened == 1
    trusting.close()
