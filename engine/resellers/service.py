"""What a reseller may do, scoped to its own sub-accounts: the one surface
the v1 API and the portal call (``engine.platform.resellers``).

Every operation names the acting reseller first and looks its sub-account up
through `sub_account_of`, so no call can reach another reseller's accounts.
Accounts are created and changed through the administration (the same code
path, rules and audit as the admin API); credit moves through
`CreditTransfers`.
"""

from __future__ import annotations

import msgspec

from engine.admin.administration import Administration
from engine.admin.views import AccountChanges, AdminRefused, NewAccount
from engine.billing.periods import Period
from engine.customers.accounts import AccountConfig
from engine.resellers.hierarchy import children_of, sub_account_of
from engine.resellers.margins import MarginLine, MarginOutcome, MarginSettlement
from engine.resellers.transfers import CreditTransfers, TransferIncomplete, TransferResult


class SubAccount(msgspec.Struct, frozen=True, kw_only=True):
    """A sub-account as its reseller sees it."""

    id: str
    currency: str
    markup: int
    """Basis points over the reseller's price."""
    balance: int
    held: int
    credit_limit: int
    enabled: bool


class Resellers:
    """The reseller operations of one shard."""

    def __init__(self, admin: Administration, margins: MarginSettlement | None = None) -> None:
        """``margins``: the monthly settlement (PostgreSQL); None without a database."""
        self.admin = admin
        self.transfers = CreditTransfers(admin.gateway.ledger)
        self.margins = margins

    def reseller(self, account_id: str) -> AccountConfig:
        """The acting account, refused (``not_reseller``) unless it is a reseller."""
        account = self.admin.gateway.accounts.get(account_id)
        if account is None or not account.reseller:
            raise AdminRefused("not_reseller", f"account {account_id!r} is not a reseller")
        return account

    def owned(self, reseller: str, account_id: str) -> AccountConfig:
        """``account_id`` when ``reseller`` owns it; else ``unknown_sub_account``."""
        self.reseller(reseller)
        account = sub_account_of(self.admin.gateway.accounts, reseller, account_id)
        if account is None:
            raise AdminRefused("unknown_sub_account", f"no sub-account {account_id!r}")
        return account

    async def sub_accounts(self, reseller: str) -> list[SubAccount]:
        self.reseller(reseller)
        children = children_of(self.admin.gateway.accounts, reseller)
        return [await self._view(account) for account in children]

    async def sub_account(self, reseller: str, account_id: str) -> SubAccount:
        return await self._view(self.owned(reseller, account_id))

    async def create(
        self, reseller: str, account_id: str, *, markup: int, password: str | None = None
    ) -> SubAccount:
        """A new sub-account of ``reseller``, in its currency, with no credit
        of its own (it gets credit by transfers)."""
        owner = self.reseller(reseller)
        try:
            new = msgspec.convert(
                {"id": account_id, "password": password, "parent": reseller, "markup": markup},
                NewAccount,
            )
        except msgspec.ValidationError as exc:
            raise AdminRefused("invalid_sub_account", str(exc)) from None
        new = msgspec.structs.replace(new, currency=self.currency_of(owner))
        await self.admin.create_account(new)
        return await self.sub_account(reseller, account_id)

    async def set_markup(self, reseller: str, account_id: str, markup: int) -> SubAccount:
        self.owned(reseller, account_id)
        try:
            changes = msgspec.convert({"markup": markup}, AccountChanges)
        except msgspec.ValidationError as exc:
            raise AdminRefused("invalid_markup", str(exc)) from None
        await self.admin.update_account(account_id, changes)
        return await self.sub_account(reseller, account_id)

    async def move_credit(
        self, reseller: str, account_id: str, amount: int, reference: str
    ) -> TransferResult:
        """``amount`` down to the sub-account (negative: back up), once per
        ``reference`` (`engine.resellers.transfers`)."""
        self.owned(reseller, account_id)
        try:
            result = await self.transfers.move(reseller, account_id, amount, reference)
        except TransferIncomplete:
            await self._audit_transfer(reseller, account_id, amount, reference, "incomplete")
            raise
        await self._audit_transfer(reseller, account_id, amount, reference, str(result.outcome))
        return result

    async def _audit_transfer(
        self, reseller: str, account_id: str, amount: int, reference: str, outcome: str
    ) -> None:
        await self.admin.audit.record(
            "credit.transfer",
            account_id,
            reseller=reseller,
            amount=amount,
            reference=reference,
            outcome=outcome,
        )

    async def settle_margins(self, period: Period) -> list[MarginLine]:
        """Credits every reseller its margin of ``period``, once (`engine.resellers.margins`)."""
        if self.margins is None:
            raise AdminRefused("no_database", "margins are read from PostgreSQL: none configured")
        accounts = self.admin.gateway.accounts
        lines = []
        for reseller in sorted(a.id for a in accounts.values() if a.reseller):
            children = [child.id for child in children_of(accounts, reseller)]
            line = await self.margins.settle(reseller, children, period)
            if line.outcome is MarginOutcome.CREDITED:
                await self.admin.audit.record(
                    "credit.reseller_margin", reseller, month=line.month, amount=line.amount
                )
            lines.append(line)
        return lines

    def currency_of(self, account: AccountConfig) -> str:
        return account.currency or str(self.admin.gateway.pipeline.table.currency)

    async def _view(self, account: AccountConfig) -> SubAccount:
        state = await self.admin.gateway.ledger.get_account(account.id)
        return SubAccount(
            id=account.id,
            currency=self.currency_of(account),
            markup=account.markup,
            balance=state.balance if state is not None else 0,
            held=state.held if state is not None else 0,
            credit_limit=state.limits.credit_limit if state is not None else 0,
            enabled=state is not None and state.limits.enabled,
        )
