"""The portal's opt-out list (search, add, remove; a stop keyword's number
stays) and Verify statistics; only ever the user's own account."""

from __future__ import annotations

import time

from engine.optout.install import install_optout
from engine.optout.service import OptOut
from engine.optout.store import MemoryOptOutStore
from engine.verify import (
    CodeHasher,
    MemorySendLimiter,
    MemoryVerificationStore,
    MemoryVerifyCounts,
    SendLimits,
    VerifySettings,
)
from engine.verify.service import VerifyService
from engine.verify.stats import day_of
from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api
from tests.engine.verify.harness import SECRET

FR, FR2, IR = "33612345678", "33698765432", "989121234567"


async def lists(console: Api) -> OptOut:
    optout = await install_optout(console.engine.gateway, MemoryOptOutStore())
    console.engine.protection.optout = optout
    return optout


async def test_add_search_and_remove_a_number(console: Api) -> None:
    optout = await lists(console)
    client = console.client
    await log_in(client, "bank-user", "portal")
    csrf = csrf_in(await client.get("/portal/opt-outs"))
    for number in (f"+{FR}", FR2):
        added = await client.post("/portal/opt-outs", data={"number": number, "csrf": csrf})
        assert (added.status_code, added.headers["location"]) == (303, "/portal/opt-outs")
    assert optout.listed("bank", FR) and optout.listed("bank", FR2)
    assert not optout.listed("shop", FR)
    entry = await optout.entry("bank", FR)
    assert entry is not None and entry.source == "api"

    found = await client.get("/portal/opt-outs", params={"q": "+33 612"})
    assert f'data-testid="opt-out-{FR}"' in found.text
    assert f'data-testid="opt-out-{FR2}"' not in found.text

    removed = await client.post(f"/portal/opt-outs/{FR}/remove", data={"csrf": csrf})
    assert removed.status_code == 303
    assert not optout.listed("bank", FR) and optout.listed("bank", FR2)


async def test_a_bad_number_shows_its_error_next_to_the_field(console: Api) -> None:
    optout = await lists(console)
    client = console.client
    await log_in(client, "bank-user", "portal")
    csrf = csrf_in(await client.get("/portal/opt-outs"))
    answer = await client.post("/portal/opt-outs", data={"number": "0612", "csrf": csrf})
    assert answer.status_code == 400
    assert 'data-testid="error-number"' in answer.text
    assert "is not an international number" in answer.text
    assert [e async for e in optout.store.entries("bank")] == []


async def test_a_stop_keywords_number_stays(console: Api) -> None:
    optout = await lists(console)
    await optout.add("bank", [IR], "mo")
    client = console.client
    await log_in(client, "bank-user", "portal")
    page = await client.get("/portal/opt-outs")
    assert f'data-testid="opt-out-{IR}"' in page.text
    assert f'data-testid="remove-{IR}"' not in page.text
    answer = await client.post(f"/portal/opt-outs/{IR}/remove", data={"csrf": csrf_in(page)})
    assert answer.status_code == 409
    assert 'data-testid="error-remove"' in answer.text
    assert optout.listed("bank", IR)


async def test_a_customer_cannot_see_or_remove_another_accounts_numbers(console: Api) -> None:
    optout = await lists(console)
    await optout.add("shop", [FR], "api")
    client = console.client
    await log_in(client, "bank-user", "portal")
    page = await client.get("/portal/opt-outs", params={"q": FR, "account": "shop"})
    assert f'data-testid="opt-out-{FR}"' not in page.text
    assert "No numbers match." in page.text
    for path in (f"/portal/opt-outs/{FR}/remove", f"/portal/opt-outs/{FR}/remove?account=shop"):
        answer = await client.post(path, data={"csrf": csrf_in(page), "account": "shop"})
        assert answer.status_code == 404
    assert optout.listed("shop", FR)


async def test_without_lists_the_page_says_so(console: Api) -> None:
    await log_in(console.client, "bank-user", "portal")
    answer = await console.client.get("/portal/opt-outs")
    assert answer.status_code == 503
    assert 'data-testid="no-lists"' in answer.text


async def test_verify_statistics_of_the_users_own_account(console: Api) -> None:
    counts = MemoryVerifyCounts()
    settings = VerifySettings()
    console.engine.verify = VerifyService(
        console.engine,
        MemoryVerificationStore(),
        MemorySendLimiter(SendLimits.of(settings)),
        settings,
        CodeHasher(SECRET),
        counts=counts,
    )
    now_ms = int(time.time() * 1000)
    for outcome in ("created", "created", "created", "created", "approved", "failed"):
        await counts.count("bank", now_ms, outcome)  # type: ignore[arg-type]
    await counts.count("shop", now_ms, "created")
    client = console.client
    await log_in(client, "bank-user", "portal")
    page = await client.get("/portal/verify", params={"days": "30"})
    assert page.status_code == 200
    day = day_of(now_ms)
    assert 'data-testid="total-created">4<' in page.text
    assert 'data-testid="total-approved">1<' in page.text
    assert 'data-testid="total-failed">1<' in page.text
    assert 'data-testid="total-expired">2<' in page.text
    assert 'data-testid="total-conversion">25.0 %<' in page.text
    assert f"{day[:4]}-{day[4:6]}-{day[6:]}" in page.text
    bad = await client.get("/portal/verify", params={"days": "1000"})
    assert bad.status_code == 400 and 'data-testid="error-days"' in bad.text


async def test_without_verify_the_page_says_so(console: Api) -> None:
    await log_in(console.client, "bank-user", "portal")
    answer = await console.client.get("/portal/verify")
    assert answer.status_code == 503
    assert 'data-testid="no-verify"' in answer.text
