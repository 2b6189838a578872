"""The portal's message history: searched by id, number and time, exported as
the search finds it, and never beyond the customer's own account."""

from __future__ import annotations

import csv
import io

from engine import SendItem
from tests.api.console.conftest import log_in
from tests.api.harness import Api


async def _sent(console: Api, account: str, to: str) -> str:
    config = console.engine.account(account)
    assert config is not None
    [result], _ = await console.engine.send(config, [SendItem(to=to, sender="Bank", text="hi")])
    assert result.accepted, result
    return result.message_id


async def test_search_by_number_and_the_csv_of_that_search(console: Api) -> None:
    first = await _sent(console, "bank", "33612345678")
    second = await _sent(console, "bank", "33698765432")
    await log_in(console.client, "bank-user", "portal")

    page = await console.client.get("/portal/messages", params={"number": "+33 6 12 34 56 78"})
    assert page.status_code == 200
    assert f'data-testid="message-{first}"' in page.text
    assert f'data-testid="message-{second}"' not in page.text
    assert 'href="/portal/messages.csv?number=%2B33+6+12+34+56+78"' in page.text

    exported = await console.client.get("/portal/messages.csv", params={"number": "33612345678"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["message_id"] for row in rows] == [first]

    by_id = await console.client.get("/portal/messages", params={"id": second})
    assert f'data-testid="message-{second}"' in by_id.text
    assert f'data-testid="message-{first}"' not in by_id.text


async def test_another_accounts_message_is_not_found_by_its_id(console: Api) -> None:
    theirs = await _sent(console, "shop", "33612345678")
    await log_in(console.client, "bank-user", "portal")
    page = await console.client.get("/portal/messages", params={"id": theirs})
    assert page.status_code == 200
    assert f'data-testid="message-{theirs}"' not in page.text
    exported = await console.client.get("/portal/messages.csv")
    assert theirs not in exported.text


async def test_a_bad_time_shows_its_error_next_to_the_field(console: Api) -> None:
    await log_in(console.client, "bank-user", "portal")
    page = await console.client.get("/portal/messages", params={"from": "yesterday"})
    assert page.status_code == 400
    assert 'data-testid="error-from"' in page.text
    assert (await console.client.get("/portal/messages.csv?from=yesterday")).status_code == 400
