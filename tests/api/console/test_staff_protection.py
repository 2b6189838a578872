"""The staff's fraud blocks and opt-out lists (/console/fraud, /console/opt-outs):
the calls of the admin protection API on the shard's guard and lists."""

from __future__ import annotations

from engine.fraud.install import install_fraud_guard
from engine.fraud.memory_store import MemoryFraudStore
from engine.fraud.settings import FraudConfig, FraudLimits
from engine.optout.install import install_optout
from engine.optout.store import MemoryOptOutStore
from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api

PREMIUM = "3389912"
LIMITS = FraudLimits(
    per_number_per_hour=0, per_prefix_per_hour=0, spike_factor=5.0, spike_floor=3,
    conversion_min_ratio=0.0,
)  # fmt: skip


async def _send(api: Api, to: str) -> int:
    body = {"to": to, "from": "Bank", "text": "Your code is 123456", "priority": "otp"}
    answer = await api.client.post("/v1/messages", json=body, headers=api.auth("bank"))
    return answer.status_code


async def test_admin_reviews_and_lifts_a_block(console: Api) -> None:
    guard = install_fraud_guard(
        console.engine.gateway, MemoryFraudStore(), FraudConfig(limits=LIMITS)
    )
    await guard.start()
    console.engine.protection.fraud = guard
    try:
        for n in range(3):
            assert await _send(console, f"{PREMIUM}{n:04}") == 202
        assert await _send(console, f"{PREMIUM}0003") == 422
        await guard.flush()

        await log_in(console.client, "helpdesk")
        seen = await console.client.get("/console/fraud")
        assert (
            f'data-testid="block-bank-{PREMIUM}"' in seen.text and "Lift</button>" not in seen.text
        )
        await console.client.post("/console/logout", data={"csrf": csrf_in(seen)})

        await log_in(console.client, "root")
        page = await console.client.get("/console/fraud")
        assert f'data-testid="block-bank-{PREMIUM}"' in page.text and "spike" in page.text
        form = {"account": "bank", "prefix": PREMIUM, "csrf": csrf_in(page)}
        bad = await console.client.post("/console/fraud/lift", data={**form, "allow_for": "soon"})
        assert bad.status_code == 400 and 'data-testid="error-allow_for"' in bad.text
        too_long = await console.client.post(
            "/console/fraud/lift", data={**form, "allow_for": "1e9"}
        )
        assert too_long.status_code == 400 and 'data-testid="error-allow_for"' in too_long.text
        lifted = await console.client.post("/console/fraud/lift", data={**form, "allow_for": "600"})
        assert lifted.status_code == 303
        assert guard.blocks() == [] and [a.prefix for a in guard.allowances()] == [PREMIUM]
        assert await _send(console, f"{PREMIUM}0003") == 202
        after = await console.client.get("/console/fraud")
        assert "No block in force." in after.text and 'data-testid="allowances"' in after.text
        gone = await console.client.post("/console/fraud/lift", data={**form, "allow_for": "0"})
        assert gone.status_code == 404 and 'data-testid="error-block"' in gone.text
        entries = await console.engine.admin.audit.recent(10)
        assert any(e.action == "fraud.lift" and e.actor == "console:root" for e in entries)
    finally:
        await guard.stop()


async def test_without_the_features_the_pages_say_so(console: Api) -> None:
    await log_in(console.client, "root")
    for path in ("/console/fraud", "/console/opt-outs"):
        page = await console.client.get(path)
        assert page.status_code == 200 and 'data-testid="not-installed"' in page.text, path


async def _with_optout(console: Api) -> None:
    console.engine.protection.optout = await install_optout(
        console.engine.gateway, MemoryOptOutStore(), None
    )


async def test_add_search_and_remove_global_and_account_numbers(console: Api) -> None:
    await _with_optout(console)
    optout = console.engine.protection.optout
    assert optout is not None
    client = console.client
    await log_in(client, "root")
    csrf = csrf_in(await client.get("/console/opt-outs"))

    added = await client.post("/console/opt-outs", data={"number": "+33 612345678", "csrf": csrf})
    assert added.status_code == 400 and 'data-testid="error-number"' in added.text
    added = await client.post("/console/opt-outs", data={"number": "+33612345678", "csrf": csrf})
    assert added.status_code == 303
    assert optout.listed(None, "33612345678") and not optout.listed("bank", "33612345678")
    page = await client.get(added.headers["location"])
    assert 'data-testid="optout-33612345678"' in page.text
    assert "Listed since" in page.text and "(admin)" in page.text

    for_bank = {"list": "bank", "number": "33698765432", "csrf": csrf}
    assert (await client.post("/console/opt-outs", data=for_bank)).status_code == 303
    assert optout.listed("bank", "33698765432") and not optout.listed(None, "33698765432")
    bank = await client.get("/console/opt-outs", params={"list": "bank"})
    assert 'data-testid="optout-33698765432"' in bank.text
    assert 'data-testid="optout-33612345678"' not in bank.text
    ghost = await client.post("/console/opt-outs", data={**for_bank, "list": "ghost"})
    assert ghost.status_code == 400 and 'data-testid="error-list"' in ghost.text

    missing = await client.get("/console/opt-outs", params={"number": "33600000000"})
    assert "Not on this list." in missing.text
    removed = await client.post(
        "/console/opt-outs/remove", data={"number": "33612345678", "csrf": csrf}
    )
    assert removed.status_code == 303 and not optout.listed(None, "33612345678")
    again = await client.post(
        "/console/opt-outs/remove", data={"number": "33612345678", "csrf": csrf}
    )
    assert again.status_code == 404 and 'data-testid="error-number"' in again.text
    actions = [(e.action, e.actor) for e in await console.engine.admin.audit.recent(10)]
    assert ("opt_out.add", "console:root") in actions and (
        "opt_out.remove",
        "console:root",
    ) in actions


async def test_support_reads_the_lists_but_may_not_change_them(console: Api) -> None:
    await _with_optout(console)
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/opt-outs")
    assert page.status_code == 200 and 'data-testid="optout-change"' not in page.text
    refused = await console.client.post(
        "/console/opt-outs", data={"number": "33612345678", "csrf": csrf_in(page)}
    )
    assert refused.status_code == 403
