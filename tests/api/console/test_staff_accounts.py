"""The staff account pages: the list's state and balance, the settings form
saved through `update_account` with errors next to their field, the IP
allow-list, the account's prices, and support reading only."""

from __future__ import annotations

import httpx
import pytest

from api.console.accounts.settings_form import changes_of, submitted
from engine import AccountChanges
from tests.api.console.conftest import csrf_in, log_in
from tests.api.harness import Api


def settings(csrf: str, **changed: str) -> dict[str, str]:
    """The form as the bank's page shows it (enabled), with ``changed``."""
    form = {
        "csrf": csrf,
        "enabled": "on",
        "latin1_allowed": "on",
        "groups": "",
        "max_binds": "4",
        "priority": "normal",
        "throughput": "0",
        "bind_throughput": "0",
        "window": "10",
        "credit_limit": "0",
        "low_balance": "0",
        "webhook_url": "",
        "discount": "0",
        "tax_name": "",
        "tax_rate": "0",
        "message_id_format": "hex",
        "allowed_ips": "",
    }
    form.update(changed)
    return {name: value for name, value in form.items() if value != "off"}


async def _admin(console: Api) -> str:
    await log_in(console.client, "root")
    return csrf_in(await console.client.get("/console/accounts/bank"))


async def save(console: Api, csrf: str, **changed: str) -> httpx.Response:
    return await console.client.post(
        "/console/accounts/bank/settings", data=settings(csrf, **changed)
    )


async def test_list_shows_state_balance_and_currency(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    await console.engine.admin.update_account("shop", AccountChanges(enabled=False))
    page = await console.client.get("/console/accounts")
    assert page.status_code == 200
    bank = page.text.split('data-testid="account-bank"')[1].split("</tr>")[0]
    assert "enabled" in bank and "EUR" in bank
    assert 'data-testid="balance-bank">0.40<' in bank  # the harness's credit: 0.40 EUR
    assert 'data-testid="disabled-shop"' in page.text


async def test_save_settings_goes_through_update_account_and_is_audited(console: Api) -> None:
    csrf = await _admin(console)
    answer = await save(
        console,
        csrf,
        groups="banks, vip",
        throughput="50",
        bind_throughput="10",
        credit_limit="12.5",
        low_balance="1",
        window="20",
        discount="2.5",
        tax_name="VAT",
        tax_rate="20",
        message_id_format="decimal",
        allowed_ips="192.0.2.0/24\n127.0.0.1",
    )
    assert answer.status_code == 303, answer.text
    view = await console.engine.admin.account("bank")
    assert view.groups == ["banks", "vip"]
    assert (view.throughput, view.bind_throughput, view.window) == (50, 10, 20)
    assert (view.credit_limit, view.low_balance) == (12_500_000, 1_000_000)
    assert (view.discount, view.tax_name, view.tax_rate) == (250, "VAT", 2000)
    assert view.message_id_format == "decimal"
    assert view.allowed_ips == ["192.0.2.0/24", "127.0.0.1/32"]
    (entry,) = await console.engine.admin.audit.recent(1)
    assert (entry.action, entry.target, entry.actor) == ("account.update", "bank", "console:root")
    page = await console.client.get("/console/accounts/bank")
    assert "192.0.2.0/24, 127.0.0.1/32" in page.text
    assert 'value="12.5"' in page.text


async def test_only_the_fields_changed_are_saved(console: Api) -> None:
    csrf = await _admin(console)
    before = len(await console.engine.admin.audit.recent(100))
    assert (await save(console, csrf)).status_code == 303  # the form as shown
    assert len(await console.engine.admin.audit.recent(100)) == before
    assert (await save(console, csrf, window="12")).status_code == 303
    (entry,) = await console.engine.admin.audit.recent(1)
    assert entry.detail == {"window": 12}


async def test_unticking_enabled_disables_the_account(console: Api) -> None:
    csrf = await _admin(console)
    assert (await save(console, csrf, enabled="off")).status_code == 303
    assert not (await console.engine.admin.account("bank")).enabled
    page = await console.client.get("/console/accounts/bank")
    assert 'class="badge badge-off" data-testid="state"' in page.text
    assert (await save(console, csrf)).status_code == 303
    assert (await console.engine.admin.account("bank")).enabled


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("allowed_ips", "10.0.0.1/8"),
        ("allowed_ips", "not-an-address"),
        ("credit_limit", "ten"),
        ("throughput", "1.5"),
        ("window", "0"),
        ("discount", "150"),
        ("groups", "no/slash"),
        ("webhook_url", "ftp://example.com/x"),
    ],
)
async def test_a_bad_field_shows_its_error_next_to_it_and_changes_nothing(
    console: Api, field: str, value: str
) -> None:
    csrf = await _admin(console)
    before = console.engine.account("bank")
    answer = await save(console, csrf, **{"throughput": "7", field: value})
    assert answer.status_code in (400, 422)
    assert f'data-testid="error-{field}"' in answer.text
    assert answer.text.count('class="error"') == 1
    assert console.engine.account("bank") is before
    assert value in answer.text  # what was typed stays in the form


async def test_the_bad_cidr_is_named_in_its_error(console: Api) -> None:
    csrf = await _admin(console)
    answer = await save(console, csrf, allowed_ips="192.0.2.0/24\n10.0.0.1/8")
    error = answer.text.split('data-testid="error-allowed_ips">')[1].split("<")[0]
    assert "10.0.0.1/8" in error


async def test_prices_of_the_account_are_shown(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/accounts/bank")
    tariffs = page.text.split('data-testid="tariffs"')[1].split("</table>")[0]
    assert "fr" in tariffs and "retail" in tariffs and "0.04 EUR" in tariffs


async def test_support_reads_but_may_not_save(console: Api) -> None:
    await log_in(console.client, "helpdesk")
    page = await console.client.get("/console/accounts/bank")
    assert 'data-testid="save-settings"' not in page.text
    answer = await save(console, csrf_in(page), enabled="off")
    assert answer.status_code == 403
    assert (await console.engine.admin.account("bank")).enabled


def test_form_parsing_turns_units_into_micro_units_and_basis_points() -> None:
    form = settings("x", credit_limit="0.000001", discount="0.01", allowed_ips="1.2.3.4, ::1")
    changes, errors = changes_of(submitted(form))
    assert errors == {} and changes is not None
    assert changes.credit_limit == 1 and changes.discount == 1
    assert changes.allowed_ips == ["1.2.3.4", "::1"]
    assert changes.enabled is True
    _, errors = changes_of(submitted(settings("x", credit_limit="0.0000001")))
    assert "credit_limit" in errors
