"""A TLS listener: customers bind over TLS with the certificate from config."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from engine.config import ListenerConfig
from smpp import pdu as p
from smpp.aio import CommandFailed, open_session
from smpp.errors import SmppError
from smpp.tlv import Tag
from tests.engine.gateway_harness import PASSWORD, Customer, running_gateway, simulator

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_bind_and_submit_over_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    tls = (ListenerConfig(port=0, tls_cert=str(cert), tls_key=str(key)),)
    async with running_gateway("memory", [simulator()], listeners=tls) as gateway:
        client = ssl.create_default_context(cafile=str(cert))
        client.check_hostname = False
        customer = Customer()
        bind = p.BindTransceiver(system_id="bank", password=PASSWORD)
        connection = await open_session("127.0.0.1", gateway.ports[0], bind, customer, ssl=client)
        response = await connection.call(
            p.SubmitSm(destination_addr="33612345678", short_message=b"tls", registered_delivery=1)
        )
        receipt = await asyncio.wait_for(customer.delivered.get(), 10)
        assert receipt.tlvs[Tag.RECEIPTED_MESSAGE_ID] == response.message_id
        await connection.unbind()
        with pytest.raises((CommandFailed, SmppError, OSError)):
            await asyncio.wait_for(open_session("127.0.0.1", gateway.ports[0], bind, Customer()), 5)
