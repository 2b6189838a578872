"""schemathesis against our OpenAPI document: `smsgw dev` as a real process, real sockets.

Bounded for CI (a few examples per operation). Every operation is called with
the right credentials (the demo API key, or the admin key for /admin), and
answers must match the document: media types, bodies and headers, never a 5xx,
and requests the schema forbids must be refused.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance, status_code_conformance

from api.app import OPERATIONS
from api.ops import openapi_document

ADMIN_KEY = "adm_schemathesis_test_key"
EXAMPLES = int(os.environ.get("SMSGW_SCHEMATHESIS_EXAMPLES", "8"))


class DevShard:
    def __init__(self, url: str, api_key: str, password: str) -> None:
        self.url = url
        self.api_key = api_key
        self.password = password


@pytest.fixture(scope="module")
def dev_shard() -> Iterator[DevShard]:
    env = {**os.environ, "SMSGW_ADMIN_KEY": ADMIN_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "smsgw.cli", "dev", "--port", "0", "--api-port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    banner = ""
    try:
        while "Ctrl-C stops." not in banner:
            line = process.stdout.readline()
            assert line, f"smsgw dev exited early: {banner}"
            banner += line
        url = re.search(r"HTTP\s+(http://\S+)", banner)
        key = re.search(r"API key\s+(\S+)", banner)
        password = re.search(r"password\s+(\S+)", banner)
        assert url and key and password
        yield DevShard(url[1], key[1], password[1])
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()


OFF_IN_DEV = re.compile(r"^/(v1|admin)/(invoices|cdrs)\b|^/admin/fraud/")
"""What `smsgw dev` leaves off, answering 503 as documented: billing's
PostgreSQL endpoints (tests/api/billing run them on a real database) and the
fraud guard (off by default: tests/api/protection run it)."""

# The document the app serves, built the same way without a server (the test
# below checks the served one is identical).
schema = schemathesis.openapi.from_dict(openapi_document(OPERATIONS))


def test_the_served_document_is_the_one_tested(dev_shard: DevShard) -> None:
    served = httpx.get(f"{dev_shard.url}/openapi.json").json()
    # As JSON: a default of () in Python is served as [].
    assert served == orjson.loads(orjson.dumps(openapi_document(OPERATIONS)))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, dev_shard: DevShard
) -> None:
    key = ADMIN_KEY if case.path.startswith("/admin") else dev_shard.api_key
    excluded = [positive_data_acceptance, status_code_conformance]
    if OFF_IN_DEV.match(case.path):
        excluded.append(not_a_server_error)
    case.call_and_validate(
        base_url=dev_shard.url,
        headers={"Authorization": f"Bearer {key}"},
        # Generated values are valid by the schema but not by the world (unknown
        # accounts, credentials, message ids): refusing them is right, and not
        # every refusal's status (404, 409, 413...) is listed per operation.
        excluded_checks=excluded,
    )
