"""Decoding configuration data while collecting every error with its place.

``msgspec.convert`` stops at the first error. An operator fixing a routing table
wants the whole list at once, so this module walks the config structs field by
field, lets msgspec check each leaf (types and ``Meta`` constraints), and goes
on after a failure. Places are written the way the operator wrote the data:
``mt_routes[3].filters.destination_prefix[1]``.
"""

import re
import types
import typing
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Annotated, Any, Union

import msgspec


class ConfigIssue(msgspec.Struct, frozen=True):
    """One problem in a routing configuration, at ``place``."""

    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


class RoutingConfigError(ValueError):
    """A routing configuration was refused; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        lines = "\n".join(f"  {issue}" for issue in issues)
        super().__init__(f"{len(issues)} error(s) in routing configuration:\n{lines}")


class Invalid:
    """Marks a value that failed to convert; its issues are already recorded."""


INVALID = Invalid()


Check = Callable[[Any, str], list[ConfigIssue]]
"""Rules of one struct type beyond its field types, given the struct and its place."""


def convert_all(
    data: object,
    target: Any,
    place: str,
    issues: list[ConfigIssue],
    checks: Mapping[type, Check] = MappingProxyType({}),
) -> Any:
    """``data`` converted to ``target``, or INVALID with every problem added to ``issues``.

    Valid data takes one ``msgspec.convert`` call; only data with errors is
    walked field by field to find them all. Tables are always walked on error:
    msgspec places an error in a table's value at ``[...]``, not at its key.
    While walking, each part that converts is checked with ``checks`` for its
    type, so a route with a bad field still has its filters' rules checked.
    """
    try:
        return msgspec.convert(data, target)
    except msgspec.ValidationError as error:
        first_error = error
    if isinstance(target, type) and issubclass(target, msgspec.Struct):
        return _convert_struct(data, target, place, issues, checks)
    origin = typing.get_origin(target)
    arguments = typing.get_args(target)
    if origin in (Union, types.UnionType) and _is_struct_union(arguments):
        return _convert_union(data, arguments, place, issues, checks)
    if origin is list and _needs_walk(arguments[0]):
        return _convert_list(data, arguments[0], place, issues, checks)
    if origin is dict:
        return _convert_dict(data, arguments, place, issues, checks)
    if origin is Annotated and typing.get_origin(arguments[0]) is dict:
        found = len(issues)
        convert_all(data, arguments[0], place, issues, checks)
        if len(issues) == found:
            issues.append(_issue_from(first_error, place))
        return INVALID
    issues.append(_issue_from(first_error, place))
    return INVALID


def _convert_part(
    data: object, target: Any, place: str, issues: list[ConfigIssue], checks: Mapping[type, Check]
) -> Any:
    value = convert_all(data, target, place, issues, checks)
    check = checks.get(type(value))
    if check is not None:
        issues.extend(check(value, place))
    return value


def _needs_walk(target: Any) -> bool:
    if isinstance(target, type) and issubclass(target, msgspec.Struct):
        return True
    return typing.get_origin(target) in (Union, types.UnionType) and _is_struct_union(
        typing.get_args(target)
    )


def _is_struct_union(arguments: tuple[Any, ...]) -> bool:
    members = [a for a in arguments if a is not type(None)]
    return all(isinstance(a, type) and issubclass(a, msgspec.Struct) for a in members)


def _convert_struct(
    data: object,
    target: type[msgspec.Struct],
    place: str,
    issues: list[ConfigIssue],
    checks: Mapping[type, Check],
) -> Any:
    if not isinstance(data, dict):
        issues.append(ConfigIssue(place, f"expected a table, got {_kind(data)}"))
        return INVALID
    config = target.__struct_config__
    fields = {field.encode_name: field for field in msgspec.structs.fields(target)}
    known = set(fields) | ({config.tag_field} if config.tag_field else set())
    values: dict[str, Any] = {}
    failed = False
    for key in data:
        if key not in known:
            issues.append(
                ConfigIssue(
                    join_place(place, str(key)), f"unknown field; known: {_listing(fields)}"
                )
            )
            failed = True
    for name, field in fields.items():
        if name not in data:
            if field.required:
                issues.append(ConfigIssue(join_place(place, name), "missing required field"))
                failed = True
            continue
        value = _convert_part(data[name], field.type, join_place(place, name), issues, checks)
        if value is INVALID:
            failed = True
        values[field.name] = value
    return INVALID if failed else target(**values)


def _convert_union(
    data: object,
    arguments: tuple[Any, ...],
    place: str,
    issues: list[ConfigIssue],
    checks: Mapping[type, Check],
) -> Any:
    if data is None and type(None) in arguments:
        return None
    members = {a.__struct_config__.tag: a for a in arguments if a is not type(None)}
    tag_field = next(iter(members.values())).__struct_config__.tag_field
    if not isinstance(data, dict):
        issues.append(ConfigIssue(place, f"expected a table, got {_kind(data)}"))
        return INVALID
    if len(members) == 1 and tag_field is None:
        return _convert_struct(data, next(iter(members.values())), place, issues, checks)
    tag = data.get(tag_field)
    member = members.get(tag) if isinstance(tag, str) else None
    if member is None:
        issues.append(
            ConfigIssue(join_place(place, tag_field), f"must be one of {_listing(members)}")
        )
        return INVALID
    return _convert_struct(data, member, place, issues, checks)


def _convert_list(
    data: object, item: Any, place: str, issues: list[ConfigIssue], checks: Mapping[type, Check]
) -> Any:
    if not isinstance(data, list):
        issues.append(ConfigIssue(place, f"expected an array, got {_kind(data)}"))
        return INVALID
    items = [
        _convert_part(value, item, f"{place}[{index}]", issues, checks)
        for index, value in enumerate(data)
    ]
    return INVALID if any(value is INVALID for value in items) else items


def _convert_dict(
    data: object,
    arguments: tuple[Any, ...],
    place: str,
    issues: list[ConfigIssue],
    checks: Mapping[type, Check],
) -> Any:
    if not isinstance(data, dict):
        issues.append(ConfigIssue(place, f"expected a table, got {_kind(data)}"))
        return INVALID
    converted: dict[Any, Any] = {}
    for key, value in data.items():
        key_place = join_place(place, str(key))
        converted_key = convert_all(key, arguments[0], key_place, issues)
        converted_value = _convert_part(value, arguments[1], key_place, issues, checks)
        converted[converted_key] = converted_value
    values = list(converted.keys()) + list(converted.values())
    return INVALID if any(value is INVALID for value in values) else converted


def _issue_from(error: msgspec.ValidationError, place: str) -> ConfigIssue:
    """Move msgspec's ``- at `$...``` suffix into the place."""
    message, _, where = str(error).partition(" - at `$")
    return ConfigIssue(place + where.rstrip("`"), _sentence(message))


def _sentence(message: str) -> str:
    return message[:1].lower() + message[1:]


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
"""TOML 1.0 §Keys: a key made of these characters needs no quotes."""


def join_place(place: str, key: str) -> str:
    """The place of ``key`` inside ``place``, written as a TOML dotted key."""
    if not _BARE_KEY.match(key):
        key = f'"{key}"'
    return f"{place}.{key}" if place else key


def _listing(names: typing.Iterable[object]) -> str:
    return ", ".join(sorted(str(name) for name in names))


def _kind(data: object) -> str:
    return {
        dict: "a table",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a float",
    }.get(type(data), type(data).__name__)
