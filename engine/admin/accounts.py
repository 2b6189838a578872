"""Accounts of a running shard: settings, SMPP password, API keys, credit.

An account's settings live in the gateway's account table (changed in place,
published to the other shards); its limits, enabled flag and balance in the
ledger, which every shard sees.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from engine.admin.audit import current_actor
from engine.admin.publishing import ShardChannels
from engine.admin.views import AccountChanges, AccountView, AdminRefused, NewAccount
from engine.billing.currencies import check_currency
from engine.customers.accounts import AccountConfig
from engine.customers.allowed_ips import check_allowed_ips
from engine.customers.api_keys import ApiKey, ApiKeyStore
from engine.customers.passwords import hash_password
from engine.gateway import Gateway
from engine.messages.message import Priority
from engine.resellers.hierarchy import hierarchy_problem
from ledger.model import AccountLimits, AdjustOutcome, AdjustResult

RecordPayment = Callable[[str, int, str, str, str], Awaitable[None]]
"""(account, amount, reference, method, actor): `Billing.record_top_up`."""
_TAKEN = (AdjustOutcome.OK, AdjustOutcome.DUPLICATE)
"""A duplicate records its payment too: a retry after a lost answer finds it missing."""
_PRIORITIES = {name.lower(): priority for name, priority in Priority.__members__.items()}
_PASSWORD_ALPHABET = string.ascii_letters + string.digits
_GENERATED_PASSWORD_LENGTH = 8
"""The most an SMPP password may hold (§4.1.1: 9 octets with the NUL)."""


class AccountAdministration:
    """The account operations on one running shard."""

    def __init__(self, gateway: Gateway, api_keys: ApiKeyStore, channels: ShardChannels) -> None:
        self.gateway = gateway
        self.api_keys = api_keys
        self.channels = channels

    async def accounts(self) -> list[AccountView]:
        configs = sorted(self.gateway.accounts.values(), key=lambda account: account.id)
        return list(await asyncio.gather(*(self._view(account) for account in configs)))

    async def account(self, account_id: str) -> AccountView:
        return await self._view(self.known(account_id))

    def groups(self) -> list[str]:
        """Every group some account belongs to (groups are a field of accounts)."""
        return sorted({group for a in self.gateway.accounts.values() for group in a.groups})

    async def create_account(self, new: NewAccount) -> AccountView:
        if new.id in self.gateway.accounts:
            raise AdminRefused("account_exists", f"account {new.id!r} exists")
        await self._check_webhook(new.webhook_url)
        password_hash = await _hash(new.password) if new.password is not None else ""
        config = AccountConfig(
            id=new.id,
            password_hash=password_hash,
            groups=tuple(new.groups),
            max_binds=new.max_binds,
            priority=_PRIORITIES[new.priority],
            latin1_allowed=new.latin1_allowed,
            credit_limit=new.credit_limit,
            throughput=new.throughput,
            bind_throughput=new.bind_throughput,
            window=new.window,
            webhook_url=new.webhook_url,
            webhook_secret=new.webhook_secret,
            message_id_format=new.message_id_format,
            currency=self._currency(new.currency),
            discount=new.discount,
            tax_name=new.tax_name,
            tax_rate=new.tax_rate,
            low_balance=new.low_balance,
            allowed_ips=_allowed_ips(new.allowed_ips),
            reseller=new.reseller,
            parent=new.parent or "",
            markup=new.markup,
        )
        self._check_parent(config)
        limits = AccountLimits(credit_limit=new.credit_limit, throughput=new.throughput)
        await self.gateway.ledger.set_account(new.id, limits)
        await self._put_account(config)
        return await self._view(config)

    async def update_account(self, account_id: str, changes: AccountChanges) -> AccountView:
        config = self.known(account_id)
        fields = {
            name: value
            for name in changes.__struct_fields__
            if (value := getattr(changes, name)) is not None and name != "enabled"
        }
        if fields.get("currency", self.currency_of(config)) != self.currency_of(config):
            raise AdminRefused(
                "currency_fixed",
                f"account {account_id!r} is in {self.currency_of(config)}: its ledger entries "
                "are in it; open another account for another currency",
            )
        fields.pop("currency", None)
        if "allowed_ips" in fields:
            fields["allowed_ips"] = _allowed_ips(fields["allowed_ips"])
        if {"markup", "reseller", "discount"} & fields.keys():
            self._check_parent(msgspec.structs.replace(config, **fields))
        if "webhook_url" in fields:
            await self._check_webhook(fields["webhook_url"])
        if "groups" in fields:
            fields["groups"] = tuple(fields["groups"])
        if "priority" in fields:
            fields["priority"] = _PRIORITIES[fields["priority"]]
        try:
            updated = msgspec.structs.replace(config, **fields)
        except ValueError as exc:  # AccountConfig's own rules: checked before the ledger changes
            raise AdminRefused("invalid_account_settings", str(exc)) from None
        if {"credit_limit", "throughput"} & fields.keys() or changes.enabled is not None:
            state = await self.gateway.ledger.get_account(account_id)
            limits = state.limits if state is not None else AccountLimits()
            limits = msgspec.structs.replace(
                limits,
                credit_limit=fields.get("credit_limit", config.credit_limit),
                throughput=fields.get("throughput", config.throughput),
                enabled=limits.enabled if changes.enabled is None else changes.enabled,
            )
            await self.gateway.ledger.set_account(account_id, limits)
            if changes.enabled is False:
                binds = self.gateway.binds.of(account_id)
                await asyncio.gather(*(bind.unbind() for bind in binds), return_exceptions=True)
        if updated != config:
            await self._put_account(updated)
        return await self._view(updated)

    async def set_password(self, account_id: str, password: str | None) -> str | None:
        """Replace the account's SMPP password; returns the one generated when
        none was given (shown once: only its hash is kept). Binds made with the
        old password stay up."""
        config = self.known(account_id)
        generated = None
        if password is None:
            password = generated = "".join(
                secrets.choice(_PASSWORD_ALPHABET) for _ in range(_GENERATED_PASSWORD_LENGTH)
            )
        updated = msgspec.structs.replace(config, password_hash=await _hash(password))
        await self._put_account(updated)
        return generated

    async def api_keys_of(self, account_id: str) -> list[ApiKey]:
        self.known(account_id)
        return sorted(await self.api_keys.of_account(account_id), key=lambda k: k.created_at)

    async def adjust(
        self,
        account_id: str,
        amount: int,
        *,
        reason: str,
        reference: str,
        method: str = "other",
        record_payment: RecordPayment | None = None,
    ) -> AdjustResult:
        """A top-up (positive) or debit (negative) recorded in the ledger with
        its reason; the same reference again changes nothing (``duplicate``).
        A top-up's payment (``method``, who) is recorded by ``record_payment``."""
        self.known(account_id)
        result = await self.gateway.ledger.adjust(
            account_id, amount, reason=reason, reference=reference
        )
        if record_payment is not None and result.outcome in _TAKEN:
            await record_payment(account_id, amount, reference, method, current_actor())
        return result

    def currency_of(self, config: AccountConfig) -> str:
        return config.currency or str(self.gateway.pipeline.table.currency)

    def _currency(self, code: str | None) -> str:
        """A new account's currency, fixed now: the routing's when none is given."""
        if code is None:
            return str(self.gateway.pipeline.table.currency)
        try:
            return check_currency(code)
        except ValueError as exc:
            raise AdminRefused("unknown_currency", str(exc)) from None

    def _check_parent(self, config: AccountConfig) -> None:
        """The reseller hierarchy's rules (`engine.resellers.hierarchy`)."""
        parent = self.gateway.accounts.get(config.parent)
        currencies = {config.id: self.currency_of(config)}
        if parent is not None:
            currencies[parent.id] = self.currency_of(parent)
        problem = hierarchy_problem(self.gateway.accounts, config, currencies)
        if problem is not None:
            raise AdminRefused(*problem)

    def known(self, account_id: str) -> AccountConfig:
        config = self.gateway.accounts.get(account_id)
        if config is None:
            raise AdminRefused("unknown_account", f"no account {account_id!r}")
        return config

    async def _view(self, config: AccountConfig) -> AccountView:
        state = await self.gateway.ledger.get_account(config.id)
        return AccountView(
            id=config.id,
            enabled=state is not None and state.limits.enabled,
            groups=list(config.groups),
            max_binds=config.max_binds,
            priority=config.priority.name.lower(),  # type: ignore[arg-type]
            latin1_allowed=config.latin1_allowed,
            credit_limit=config.credit_limit,
            throughput=config.throughput,
            bind_throughput=config.bind_throughput,
            window=config.window,
            webhook_url=config.webhook_url,
            message_id_format=config.message_id_format,
            currency=self.currency_of(config),
            discount=config.discount,
            tax_name=config.tax_name,
            tax_rate=config.tax_rate,
            low_balance=config.low_balance,
            has_password=bool(config.password_hash),
            has_webhook_secret=bool(config.webhook_secret),
            binds=self.gateway.binds.count(config.id),
            in_ledger=state is not None,
            sender_policy=config.sender_policy,
            default_sender=config.default_sender,
            allowed_ips=list(config.allowed_ips),
            reseller=config.reseller,
            parent=config.parent,
            markup=config.markup,
        )

    async def _put_account(self, config: AccountConfig) -> None:
        await self.channels.publish(self.channels.accounts, config)
        self.gateway.accounts[config.id] = config

    async def _check_webhook(self, url: str) -> None:
        """The send-time check (shape and resolved addresses), run as the URL is set."""
        if url:
            try:
                await self.gateway.webhooks.guard.check_url(url)
            except ValueError as exc:
                raise AdminRefused("invalid_webhook_url", str(exc)) from None

    def apply_published(self, data: Any) -> None:
        """An account as another shard published it."""
        config = msgspec.convert(data, AccountConfig)
        self.gateway.accounts[config.id] = config


def _allowed_ips(entries: list[str]) -> tuple[str, ...]:
    try:
        return check_allowed_ips(entries)
    except ValueError as exc:
        raise AdminRefused("invalid_allowed_ips", str(exc)) from None


async def _hash(password: str) -> str:
    """scrypt is slow on purpose: off the event loop."""
    return await asyncio.to_thread(hash_password, password)
