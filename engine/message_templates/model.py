"""One saved template, as the store keeps it and the API shows it."""

from __future__ import annotations

import msgspec

from engine.message_templates.placeholders import names, parse


class MessageTemplate(msgspec.Struct, frozen=True, kw_only=True):
    account: str
    id: str
    name: str
    """What the customer calls it (shown in lists; not unique)."""
    body: str
    """Text with ``{{name}}`` placeholders, checked by `placeholders.parse` when saved."""
    created_at: int
    """Unix time, milliseconds."""
    updated_at: int

    @property
    def variables(self) -> tuple[str, ...]:
        """The placeholders a send must fill, in order of first appearance."""
        return names(parse(self.body))
