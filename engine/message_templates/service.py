"""`MessageTemplates`: what the API and the portal call. Every change is
checked here (one place for both fronts), every problem named by its field."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping

from engine.message_templates.config import TemplatesConfig
from engine.message_templates.model import MessageTemplate
from engine.message_templates.placeholders import BadBody, parse
from engine.message_templates.rendering import render
from engine.message_templates.store import REPLACE, TemplateStore

NAME_MAX = 64
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_ID = re.compile(r"[0-9a-f]{16}")


class TemplateIssues(ValueError):
    """``issues``: field (``name``, ``body``) -> what is wrong with it."""

    def __init__(self, issues: Mapping[str, str]) -> None:
        self.issues = dict(issues)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.issues.items()))


class TooManyTemplates(Exception):
    """The account keeps as many templates as ``[templates] max_per_account`` allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an account keeps at most {limit} templates: delete one first")
        self.limit = limit


class MessageTemplates:
    def __init__(
        self,
        store: TemplateStore,
        config: TemplatesConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config or TemplatesConfig()
        self._clock = clock

    async def list(self, account: str) -> list[MessageTemplate]:
        return await self.store.list(account)

    async def get(self, account: str, template_id: str) -> MessageTemplate | None:
        """None for an id that names no template of this account (or none at all)."""
        if not _ID.fullmatch(template_id):
            return None
        return await self.store.get(account, template_id)

    async def create(self, account: str, name: str, body: str) -> MessageTemplate:
        """The new template; `TemplateIssues` or `TooManyTemplates` else."""
        name = self._check(name, body)
        now = self._now()
        template = MessageTemplate(
            account=account,
            id=secrets.token_hex(8),
            name=name,
            body=body,
            created_at=now,
            updated_at=now,
        )
        if not await self.store.put(template, self.config.max_per_account):
            raise TooManyTemplates(self.config.max_per_account)
        return template

    async def update(
        self, account: str, template_id: str, name: str, body: str
    ) -> MessageTemplate | None:
        """The changed template; None when there is no such template."""
        name = self._check(name, body)
        found = await self.get(account, template_id)
        if found is None:
            return None
        changed = MessageTemplate(
            account=account,
            id=template_id,
            name=name,
            body=body,
            created_at=found.created_at,
            updated_at=self._now(),
        )
        return changed if await self.store.put(changed, REPLACE) else None

    async def delete(self, account: str, template_id: str) -> bool:
        return _ID.fullmatch(template_id) is not None and await self.store.delete(
            account, template_id
        )

    def fill(self, template: MessageTemplate, variables: Mapping[str, str]) -> str:
        """The text to send; `BadVariables` naming each variable in fault."""
        return render(parse(template.body), variables, self.config.max_value_length)

    def _check(self, name: str, body: str) -> str:
        """The name as kept (trimmed), or `TemplateIssues` with every problem."""
        issues = {}
        name = name.strip()
        if not name:
            issues["name"] = "give the template a name"
        elif len(name) > NAME_MAX or _CONTROL.search(name) or "\n" in name:
            issues["name"] = f"at most {NAME_MAX} characters on one line"
        limit = self.config.max_body_length
        if not body:
            issues["body"] = "write the template's text"
        elif len(body) > limit:
            issues["body"] = f"at most {limit} characters"
        elif _CONTROL.search(body):
            issues["body"] = "control characters are not allowed (a line feed is)"
        else:
            try:
                parse(body)
            except BadBody as exc:
                issues["body"] = str(exc)
        if issues:
            raise TemplateIssues(issues)
        return name

    def _now(self) -> int:
        return int(self._clock() * 1000)
