"""Who may own whom, checked by the admin operations themselves."""

from __future__ import annotations

import pytest

from engine.admin.views import AccountChanges, AdminRefused, NewAccount
from engine.config import ConfigError, config_from_data
from tests.engine.resellers.harness import account, shard


async def refused(code: str, call: object) -> None:
    with pytest.raises(AdminRefused) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code == code


async def test_an_account_is_created_under_a_reseller_with_its_markup() -> None:
    resellers = await shard(account("r1", reseller=True))
    view = await resellers.admin.create_account(NewAccount(id="s1", parent="r1", markup=2500))
    assert (view.parent, view.markup, view.reseller) == ("r1", 2500, False)
    assert resellers.admin.gateway.accounts["s1"].parent == "r1"


async def test_the_hierarchy_is_one_level_and_acyclic() -> None:
    resellers = await shard(
        account("r1", reseller=True), account("s1", parent="r1"), account("plain")
    )
    admin = resellers.admin
    await refused("unknown_parent", admin.create_account(NewAccount(id="x", parent="nobody")))
    await refused("unknown_parent", admin.create_account(NewAccount(id="x", parent="x")))
    await refused("parent_not_reseller", admin.create_account(NewAccount(id="x", parent="plain")))
    await refused("parent_not_reseller", admin.create_account(NewAccount(id="x", parent="s1")))
    await refused(
        "reseller_with_parent",
        admin.create_account(NewAccount(id="x", parent="r1", reseller=True)),
    )
    await refused("markup_without_parent", admin.create_account(NewAccount(id="x", markup=5)))
    await refused("owns_sub_accounts", admin.update_account("r1", AccountChanges(reseller=False)))
    await refused("reseller_with_parent", admin.update_account("s1", AccountChanges(reseller=True)))
    assert "x" not in admin.gateway.accounts


async def test_a_sub_account_is_in_its_resellers_currency_without_a_discount() -> None:
    resellers = await shard(account("r1", reseller=True, currency="EUR"))
    admin = resellers.admin
    await refused(
        "currency_mismatch",
        admin.create_account(NewAccount(id="x", parent="r1", currency="USD")),
    )
    await refused(
        "discount_with_parent", admin.create_account(NewAccount(id="x", parent="r1", discount=10))
    )


async def test_a_markup_change_is_checked_before_anything_changes() -> None:
    resellers = await shard(account("plain"))
    await refused(
        "markup_without_parent",
        resellers.admin.update_account("plain", AccountChanges(markup=10, credit_limit=5)),
    )
    state = await resellers.admin.gateway.ledger.get_account("plain")
    assert state is not None and state.limits.credit_limit == 0


def test_a_config_file_is_held_to_the_same_rules() -> None:
    data = {
        "accounts": [
            {"id": "r1", "password_hash": "", "reseller": True},
            {"id": "s1", "password_hash": "", "parent": "r1", "markup": 100},
            {"id": "s2", "password_hash": "", "parent": "s1"},
            {"id": "s3", "password_hash": "", "markup": 5},
        ]
    }
    with pytest.raises(ConfigError) as caught:
        config_from_data(data)
    assert caught.value.issues == [
        "accounts[1].reseller: 's1' owns sub-accounts",
        "accounts[2].parent: 's1' is not a reseller",
        "accounts[3].markup: only a sub-account has one",
    ]
