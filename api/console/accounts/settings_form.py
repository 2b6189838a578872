"""The account settings form of the staff console: what staff typed, turned
into the admin API's `AccountChanges` with an error per field, and back into
the strings the form shows."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import msgspec

from api.console.accounts.money import amount_of, basis_points_of
from engine import AccountChanges, AccountView

TEXT_FIELDS = (
    "groups",
    "max_binds",
    "priority",
    "throughput",
    "bind_throughput",
    "window",
    "credit_limit",
    "low_balance",
    "webhook_url",
    "discount",
    "tax_name",
    "tax_rate",
    "message_id_format",
    "allowed_ips",
)
CHECKBOXES = ("enabled", "latin1_allowed")
_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_PATH = re.compile(r"at `\$\.(\w+)")
_WHERE = re.compile(r"\s*-\s*at `\$[^`]*`$")
_HINTS = {
    "groups": "Names of 1 to 64 of A-Z a-z 0-9 _ . -, separated by commas.",
    "allowed_ips": "At most 256 addresses or networks.",
    "max_binds": "0 to 1000.",
    "window": "1 to 1000.",
    "bind_throughput": "0 (unlimited) to 100000.",
    "throughput": "0 (unlimited) or more.",
    "credit_limit": "0 or more.",
    "low_balance": "0 or more.",
    "webhook_url": "At most 2048 characters.",
    "tax_name": "At most 32 characters.",
    "priority": "One of otp, express, normal, bulk.",
    "message_id_format": "hex or decimal.",
}
REFUSAL_FIELDS = {"invalid_webhook_url": "webhook_url", "invalid_allowed_ips": "allowed_ips"}


def _whole(given: str) -> int:
    try:
        return int(given.strip())
    except ValueError:
        raise ValueError("Enter a whole number.") from None


def _listed(given: str) -> list[str]:
    return [entry for entry in _LIST_SEPARATORS.split(given) if entry]


_PARSERS: dict[str, Callable[[str], object]] = {
    "groups": _listed,
    "allowed_ips": _listed,
    "max_binds": _whole,
    "throughput": _whole,
    "bind_throughput": _whole,
    "window": _whole,
    "credit_limit": amount_of,
    "low_balance": amount_of,
    "discount": basis_points_of,
    "tax_rate": basis_points_of,
}


def form_values(view: AccountView) -> dict[str, str]:
    """The form's fields as the account has them now."""

    def units(micro: int) -> str:
        return f"{micro / 1_000_000:.6f}".rstrip("0").rstrip(".")

    def percent(points: int) -> str:
        return f"{points / 100:.2f}".rstrip("0").rstrip(".")

    return {
        "enabled": "on" if view.enabled else "",
        "latin1_allowed": "on" if view.latin1_allowed else "",
        "groups": ", ".join(view.groups),
        "max_binds": str(view.max_binds),
        "priority": view.priority,
        "throughput": str(view.throughput),
        "bind_throughput": str(view.bind_throughput),
        "window": str(view.window),
        "credit_limit": units(view.credit_limit),
        "low_balance": units(view.low_balance),
        "webhook_url": view.webhook_url,
        "discount": percent(view.discount),
        "tax_name": view.tax_name,
        "tax_rate": percent(view.tax_rate),
        "message_id_format": view.message_id_format,
        "allowed_ips": "\n".join(view.allowed_ips),
    }


def submitted(form: Mapping[str, object]) -> dict[str, str]:
    """The form's strings as posted (an unticked checkbox is absent: "")."""
    values = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
    values.update({name: "on" if form.get(name) else "" for name in CHECKBOXES})
    return values


def changes_of(
    values: Mapping[str, str], current: Mapping[str, str] | None = None
) -> tuple[AccountChanges | None, dict[str, str]]:
    """The changes the form asks for, or None and an error per field: the
    fields that differ from ``current`` (`form_values` of the account), all
    of them without it. A field left as shown stays as it is, as in the
    admin API, so a save neither rechecks nor audits what it did not touch."""
    changed = [
        name
        for name in (*CHECKBOXES, *TEXT_FIELDS)
        if current is None or values[name] != current[name]
    ]
    fields: dict[str, object] = {
        name: values[name] == "on" for name in CHECKBOXES if name in changed
    }
    errors: dict[str, str] = {}
    for name in (name for name in TEXT_FIELDS if name in changed):
        parse = _PARSERS.get(name)
        try:
            fields[name] = values[name] if parse is None else parse(values[name])
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        return None, errors
    try:  # the admin API's field rules
        return msgspec.convert(fields, AccountChanges), {}
    except msgspec.ValidationError as exc:
        found = _PATH.search(str(exc))
        name = found.group(1) if found else "groups"
        hint = _HINTS.get(name) or _WHERE.sub("", str(exc)) or "Invalid value."
        return None, {name: hint}
