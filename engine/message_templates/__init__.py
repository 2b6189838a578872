"""Message templates: a customer's saved texts with ``{{name}}`` placeholders,
filled with variables at send time (docs/templates.md).

Modules: `placeholders` (the body's parser: text and placeholders, never
evaluated), `rendering` (variables checked and put in), `config`
(``[templates]``), `model` (`MessageTemplate`), `store` (memory, Redis),
`service` (`MessageTemplates`: checked changes, limits, rendering).
"""

from engine.message_templates.config import TemplatesConfig
from engine.message_templates.model import MessageTemplate
from engine.message_templates.placeholders import BadBody, Placeholder, assemble, names, parse
from engine.message_templates.rendering import BadVariables, render
from engine.message_templates.service import MessageTemplates, TemplateIssues, TooManyTemplates
from engine.message_templates.store import (
    MemoryTemplateStore,
    RedisTemplateStore,
    TemplateStore,
)

__all__ = [
    "BadBody",
    "BadVariables",
    "MemoryTemplateStore",
    "MessageTemplate",
    "MessageTemplates",
    "Placeholder",
    "RedisTemplateStore",
    "TemplateIssues",
    "TemplateStore",
    "TemplatesConfig",
    "TooManyTemplates",
    "assemble",
    "names",
    "parse",
    "render",
]
