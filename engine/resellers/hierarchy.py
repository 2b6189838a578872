"""Who may own whom: one level, reseller -> sub-account.

A reseller is an account marked ``reseller``; its sub-accounts name it as
their ``parent``. A reseller has no parent and a sub-account is no reseller,
so there are no chains and no cycles, and a sub-account's price is its
reseller's price with one markup on top. A sub-account shares its
reseller's currency (the transfers between them are one amount in both
ledgers) and has no discount of its own (its markup says what it pays).
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.customers.accounts import AccountConfig


def hierarchy_problem(
    accounts: Mapping[str, AccountConfig],
    account: AccountConfig,
    currency_of: Mapping[str, str],
) -> tuple[str, str] | None:
    """(code, detail naming the field) when ``account``'s ``reseller``,
    ``parent`` or ``markup`` break the hierarchy among ``accounts``, else
    None; ``currency_of`` maps the account and its parent to their currencies."""
    if not account.reseller and children_of(accounts, account.id):
        return "owns_sub_accounts", f"reseller: {account.id!r} owns sub-accounts"
    if not account.parent:
        if account.markup:
            return "markup_without_parent", "markup: only a sub-account has one"
        return None
    parent = accounts.get(account.parent)
    if parent is None or account.parent == account.id:
        return "unknown_parent", f"parent: no reseller account {account.parent!r}"
    if not parent.reseller:
        return "parent_not_reseller", f"parent: {parent.id!r} is not a reseller"
    if account.reseller:
        return "reseller_with_parent", "parent: a reseller is owned by no one"
    if currency_of[account.id] != currency_of[parent.id]:
        return (
            "currency_mismatch",
            f"currency: a sub-account is in its reseller's currency {currency_of[parent.id]}",
        )
    if account.discount:
        return "discount_with_parent", "discount: a sub-account's markup sets its price"
    return None


def children_of(accounts: Mapping[str, AccountConfig], reseller: str) -> list[AccountConfig]:
    """The sub-accounts of ``reseller``, by id."""
    return sorted(
        (account for account in accounts.values() if account.parent == reseller),
        key=lambda account: account.id,
    )


def sub_account_of(
    accounts: Mapping[str, AccountConfig], reseller: str, account_id: str
) -> AccountConfig | None:
    """``account_id`` when it is a sub-account of ``reseller``, else None:
    every reseller operation goes through here, so none reaches another's."""
    account = accounts.get(account_id)
    if account is None or account.parent != reseller:
        return None
    return account
