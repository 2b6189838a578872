"""Jasmin's HTTP API over a whole gateway: exact bodies and statuses, both backends."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from api.jasmin import refusal
from engine.webhooks.callbacks import WebhookCallbacks
from engine.webhooks.jasmin_dlr import jasmin_dlr_fields
from ledger.model import AccountLimits
from tests.api.harness import Api, Starter, running_api
from tests.engine.gateway_harness import account
from tests.engine.peers import recording_operator
from tests.engine.webhook_receiver import Receiver

FR = "33612345678"
SUCCESS = re.compile(r'Success "([0-9a-f]+)"')
CREDENTIALS = {"username": "bank", "password": "secret"}


def message(to: str = FR, **fields: str) -> dict[str, str]:
    return {**CREDENTIALS, "to": to, "content": "code 1234", **fields}


async def send_get(api: Api, **fields: str) -> httpx.Response:
    return await api.client.get("/send", params=message(**fields))


def sent(answer: httpx.Response) -> str:
    """The message id of a successful /send."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    found = SUCCESS.fullmatch(answer.text)
    assert found is not None, answer.text
    return found.group(1)


def error(answer: httpx.Response, status: int, text: str) -> None:
    assert (answer.status_code, answer.text) == (status, f'Error "{text}"')
    assert answer.headers["content-type"].startswith("text/plain")


def json_error(answer: httpx.Response, status: int, text: str) -> None:
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == text


async def balance_text(api: Api, account_id: str = "bank") -> str:
    await api.engine.pipeline.drain()
    answer = await api.client.get("/balance", params={"username": account_id, "password": "secret"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    return answer.text


# -- /send -----------------------------------------------------------------------


async def test_send_by_get_form_post_and_json_post(start: Starter) -> None:
    async with start() as api:
        ids = {
            sent(await send_get(api)),
            sent(await api.client.post("/send", data=message())),
            sent(await api.client.post("/send", json={**message(), "priority": 3})),
            # Query and body together, the body winning on a name in both.
            sent(await api.client.post("/send?to=44", params={}, data=message())),
        }
        assert len(ids) == 4
        # 10 parts of credit, 4 held or charged at 0.04 EUR: Jasmin's float, exactly.
        assert await balance_text(api) == '{"balance": 0.24, "sms_count": "ND"}'


async def test_what_the_operator_receives() -> None:
    operator = recording_operator()
    async with running_api("memory", operators=[operator]) as api:
        sent(await send_get(api, content="Café €", **{"from": "MyBank"}))
        sent(await send_get(api, content="\x06\x23\x06\x31", coding="8"))
        hexed = {**CREDENTIALS, "to": FR, "hex-content": "c3a9", "coding": "3"}
        sent(await api.client.get("/send", params=hexed))
        await operator.wait_until(lambda: len(operator.submitted) == 3)
    gsm, latin1, ucs2 = sorted(operator.submitted, key=lambda pdu: pdu.data_coding)
    assert (gsm.source_addr, gsm.destination_addr, gsm.data_coding) == ("MyBank", FR, 0)
    assert gsm.short_message == b"Caf\x05 \x1b\x65"  # GSM 03.38, unpacked
    assert (ucs2.data_coding, ucs2.short_message) == (8, b"\x06\x23\x06\x31")
    assert (latin1.data_coding, latin1.short_message) == (3, b"\xc3\xa9")


async def test_argument_errors_in_jasmins_words(api: Api) -> None:
    error(await api.client.get("/send"), 400, "Mandatory argument [to] is not found.")
    error(await send_get(api, foo="1"), 400, "Argument [foo] is unknown.")
    error(await send_get(api, to="abc"), 400, "Argument [to] has an invalid value: [abc].")
    answer = await api.client.get("/send", params={**CREDENTIALS, "to": FR})
    error(answer, 400, "content or hex-content not present.")
    answer = await send_get(api, **{"hex-content": "00"})  # and content
    error(answer, 400, "content and hex-content cannot be used both in same request.")
    answer = await api.client.post(
        "/send", content=b"{", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400 and answer.text.startswith('Error "Invalid JSON body')


async def test_authentication_failure(api: Api) -> None:
    answer = await api.client.get("/send", params=message(password="wrong"))
    error(answer, 403, "Authentication failure for username:bank")
    answer = await api.client.get("/send", params=message(username="nobody"))
    error(answer, 403, "Authentication failure for username:nobody")


async def test_no_route_is_412(start: Starter) -> None:
    async with start() as api:
        error(await send_get(api, to="+447911123456"), 412, "No route found")


async def test_no_credit_is_jasmins_charging_error(start: Starter) -> None:
    async with start(credit_accounts=False) as api:
        error(
            await send_get(api),
            403,
            "Cannot charge submit_sm, check RouterPB log file for details",
        )


async def test_throughput_exceeded(start: Starter) -> None:
    accounts = (account("bank", throughput=1), account("shop"))
    async with start(accounts=accounts) as api:
        for _ in range(5):  # one part per second: some of a few quick sends share one
            answer = await send_get(api)
            if answer.status_code != 200:
                break
        error(answer, 403, "User throughput exceeded")
        # Jasmin's words, and when to come back: the account's window of one second.
        assert answer.headers["Retry-After"] == "1"
        assert answer.headers["RateLimit-Limit"] == "1"
        assert answer.headers["RateLimit-Remaining"] == "0"


async def test_a_disabled_account_fails_authentication(start: Starter) -> None:
    async with start() as api:
        await api.engine.gateway.ledger.set_account("bank", AccountLimits(enabled=False))
        error(await send_get(api), 403, "Authentication failure for username:bank")


async def test_custom_tlvs_are_refused(api: Api) -> None:
    error(await send_get(api, custom_tlvs="1"), 400, "custom_tlvs are not supported")


async def test_a_message_too_long_for_255_parts_is_400(api: Api) -> None:
    answer = await send_get(api, content="x" * (255 * 153 + 1))
    assert answer.status_code == 400 and answer.text.startswith('Error "Content too long')


@pytest.mark.parametrize(
    ("code", "status", "text"),
    [
        ("no_route", 412, "No route found"),
        ("rejected", 412, "No route found"),
        ("no_credit", 403, "Cannot charge submit_sm, check RouterPB log file for details"),
        ("quota_exceeded", 403, "Cannot charge submit_sm, check RouterPB log file for details"),
        ("throttled", 403, "User throughput exceeded"),
        ("account_disabled", 403, "Authentication failure for username:bank"),
        ("unknown_account", 403, "Authentication failure for username:bank"),
        (
            "ledger_unavailable",
            500,
            "Cannot send submit_sm, check SMPPClientManagerPB log file for details",
        ),
        ("message_too_long", 400, "Content too long: why"),
        ("invalid_send_at", 400, "Invalid sdt: why"),
        ("invalid_validity", 400, "Invalid validity-period: why"),
        ("invalid_message", 400, "Invalid content: why"),
        ("unencodable", 400, "Invalid content: why"),
        ("something_new", 400, "why"),
    ],
)
def test_every_refusal_has_jasmins_status_and_words(code: str, status: int, text: str) -> None:
    """Each engine refusal code. (A ledger outage is not run end to end: the
    engine takes about 16 s to give up on Redis, too slow for this suite.)"""
    refused = refusal(code, "why", "bank")
    assert (refused.status, refused.message) == (status, text)


# -- the DLR callback -------------------------------------------------------------


def with_jasmin_callbacks(api: Api) -> None:
    """The gateway's callback sink with Jasmin's fields, as the gateway is to wire it."""
    gateway = api.engine.gateway
    gateway.pipeline.callbacks = WebhookCallbacks(
        gateway.webhooks, gateway.accounts, jasmin_fields=jasmin_dlr_fields
    )


async def test_dlr_level_3_by_get_calls_back_twice_in_jasmins_form(start: Starter) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        async with start() as api:
            with_jasmin_callbacks(api)
            fields = {"dlr-url": receiver.url + "?token=t1", "dlr-level": "3", "dlr-method": "GET"}
            message_id = sent(await send_get(api, **fields))
            async with asyncio.timeout(5):
                while len(receiver.requests) < 2:
                    receiver.got_request.clear()
                    await receiver.got_request.wait()
    finally:
        await receiver.close()
    submit, receipt = sorted(receiver.requests, key=lambda request: request.query["level"])
    assert submit.method == receipt.method == "GET"
    assert _query(submit.target) == {
        "token": "t1",
        "id": message_id,
        "message_status": "ESME_ROK",
        "level": "1",
        "connector": "op-0",
    }
    fields = _query(receipt.target)
    assert {k: fields[k] for k in ("token", "id", "message_status", "level", "sub", "dlvrd")} == {
        "token": "t1",
        "id": message_id,
        "message_status": "DELIVRD",
        "level": "2",
        "sub": "001",
        "dlvrd": "001",
    }
    assert re.fullmatch(r"\d{10}", fields["subdate"]) and re.fullmatch(
        r"\d{10}", fields["donedate"]
    )
    assert {"id_smsc", "err", "text", "connector"} <= set(fields)


async def test_dlr_level_2_by_post_is_a_form_body(api: Api) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        with_jasmin_callbacks(api)
        message_id = sent(await send_get(api, **{"dlr-url": receiver.url, "dlr-level": "2"}))
        async with asyncio.timeout(5):
            await receiver.got_request.wait()
    finally:
        await receiver.close()
    [request] = receiver.requests
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    fields = _fields(request.body.decode())
    assert (fields["id"], fields["level"], fields["message_status"]) == (message_id, "2", "DELIVRD")


def _query(target: str) -> dict[str, str]:
    return _fields(urlsplit(target).query)


def _fields(encoded: str) -> dict[str, str]:
    """Every field once, empty ones kept (Jasmin sends id_smsc= and text= even when empty)."""
    fields = parse_qs(encoded, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in fields.values())
    return {name: values[0] for name, values in fields.items()}


# -- /rate, /balance, /ping -----------------------------------------------------------


async def test_rate(start: Starter) -> None:
    async with start() as api:
        answer = await api.client.get("/rate", params={**CREDENTIALS, "to": FR})
        assert answer.headers["content-type"] == "application/json"
        assert (answer.status_code, answer.text) == (
            200,
            '{"unit_rate": 0.04, "submit_sm_count": 1}',
        )
        long = {**CREDENTIALS, "to": FR, "content": "x" * 161}
        assert (await api.client.get("/rate", params=long)).json() == {
            "unit_rate": 0.04,
            "submit_sm_count": 2,
        }
        ucs2 = {**CREDENTIALS, "to": FR, "hex-content": "0041" * 71, "coding": "8"}
        assert (await api.client.get("/rate", params=ucs2)).json()["submit_sm_count"] == 2
        # A quote holds nothing.
        assert await balance_text(api) == '{"balance": 0.4, "sms_count": "ND"}'


async def test_rate_errors_are_json_strings(api: Api) -> None:
    json_error(
        await api.client.get("/rate", params={**CREDENTIALS, "to": "447911123456"}),
        412,
        "No route found",
    )
    answer = await api.client.get("/rate", params={**CREDENTIALS, "to": FR, "password": "x"})
    json_error(answer, 403, "Authentication failure for username:bank")
    answer = await api.client.get("/rate", params={**CREDENTIALS, "to": FR, "dlr": "yes"})
    json_error(answer, 400, "Argument [dlr] is unknown.")
    json_error(await api.client.get("/rate"), 400, "Mandatory argument [to] is not found.")
    assert (await api.client.post("/rate", data={"to": FR})).status_code == 405


async def test_balance(start: Starter) -> None:
    async with start() as api:
        assert await balance_text(api) == '{"balance": 0.4, "sms_count": "ND"}'
        assert await balance_text(api, "shop") == '{"balance": 0.4, "sms_count": "ND"}'
        await api.engine.gateway.ledger.adjust("shop", 99_600_000, reason="top-up", reference="t")
        assert await balance_text(api, "shop") == '{"balance": 100.0, "sms_count": "ND"}'


async def test_balance_errors(api: Api) -> None:
    json_error(
        await api.client.get("/balance"),
        400,
        "Mandatory arguments not found, please refer to the HTTPAPI specifications.",
    )
    answer = await api.client.get("/balance", params={"username": "bank"})
    json_error(answer, 400, "Mandatory argument [password] is not found.")
    answer = await api.client.get("/balance", params={**CREDENTIALS, "to": FR})
    json_error(answer, 400, "Argument [to] is unknown.")
    answer = await api.client.get("/balance", params={"username": "bank", "password": "no"})
    json_error(answer, 403, "Authentication failure for username:bank")


async def test_ping(api: Api) -> None:
    answer = await api.client.get("/ping")
    assert (answer.status_code, answer.text) == (200, "Jasmin/PONG")
    assert (await api.client.post("/ping")).status_code == 405


async def test_the_openapi_document_describes_the_jasmin_api(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    send = spec["paths"]["/send"]
    assert {"get", "post"} <= set(send)
    assert "security" not in send["get"]
    assert {p["name"] for p in send["get"]["parameters"]} >= {"username", "dlr-url", "coding"}
    form = send["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["username", "password", "to"]
    assert {"/rate", "/balance", "/ping"} <= set(spec["paths"])


# -- a Jasmin customer's script, unchanged ----------------------------------------------


async def test_jasmins_documented_examples_work_unchanged(api: Api) -> None:
    """The calls of Jasmin's own HTTP API examples (GET with urlencode, then
    curl -d), byte for byte, including UCS-2 given as raw octets in content."""
    base = {"username": "bank", "password": "secret", "to": "+33612345678", "content": "Hello"}
    sent(await api.client.get("/send?" + urlencode(base)))
    base["content"] = "Very long message " + "." * 200
    sent(await api.client.get("/send?" + urlencode(base)))
    base["content"] = "\x06\x23\x06\x31\x06\x46\x06\x28"
    sent(await api.client.get("/send?" + urlencode({**base, "coding": 8})))
    curl = (
        "username=bank&password=secret&dlr=yes&dlr-level=3&to=33612345678"
        "&from=InfoMessage&dlr-url=http://example.com/dlr.php&content=hello !"
    )
    headers = {"content-type": "application/x-www-form-urlencoded"}
    sent(await api.client.post("/send", content=curl.encode(), headers=headers))
