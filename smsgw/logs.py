"""structlog set-up: JSON lines for `smsgw serve`, readable lines for `smsgw dev`.

Every logger of the process ends in one stdlib handler whose formatter is
structlog's: our own structlog loggers, the stdlib loggers of ledger/ and the
libraries (uvicorn, asyncpg, redis) come out as the same lines with the same
fields, and one level table (``[logging]``, docs/logging.md) governs them all.
Nothing on the per-message hot path logs at INFO; these are for binds,
connector state, reloads and errors.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import orjson
import structlog
from structlog.types import EventDict, Processor

QUIET_LIBRARIES = {"uvicorn": "warning", "asyncpg": "warning"}
"""Library loggers that chatter at INFO about what our own lines already say
(uvicorn: "Started server process"); ``[logging] levels`` overrides them."""

SECRET_WORDS = ("password", "secret", "api_key", "apikey", "authorization")
"""A field whose name contains one of these is a credential."""

MESSAGE_TEXT_KEYS = frozenset({"short_message", "message_payload", "text", "content"})
"""Fields that carry a message's text: never logged whole."""

MASK = "***"


def mask_secrets(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """The safety net under the rule that no credential and no message text is
    logged: whatever a call site passes by such a name is masked, nested
    mappings (a ``reason``, a repeated warning's counts) included."""
    return _masked(event_dict)


def _masked(fields: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for key, value in fields.items():
        if _is_secret(key):
            out[key] = MASK
        elif isinstance(value, Mapping):
            out[key] = _masked(value)
    return out


def _is_secret(key: object) -> bool:
    if not isinstance(key, str):
        return False
    name = key.lower().replace("-", "_")
    return name in MESSAGE_TEXT_KEYS or any(word in name for word in SECRET_WORDS)


def _json_line(event_dict: Any, **kw: Any) -> str:
    return orjson.dumps(event_dict, **kw).decode()


def _bridge_existing_loggers() -> None:
    """Loggers a library configured for itself (uvicorn's own config gives
    its loggers handlers and levels and stops them propagating; a dictConfig
    may disable loggers) come back through the root handler, so every line
    has one form and one level setting."""
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            for old in logger.handlers[:]:
                logger.removeHandler(old)
            logger.propagate = True
            logger.disabled = False
            logger.setLevel(logging.NOTSET)  # levels come from [logging] alone


def configure_logging(
    *,
    json: bool,
    level: str = "info",
    levels: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> None:
    """JSON lines on stdout (``json``) or readable lines on stderr; ``level``
    for every logger, ``levels`` per logger name (it covers the name's
    children: "smsgw" is every engine logger)."""
    stamped: list[Processor] = [
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    render: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(_json_line)]
        if json
        else [structlog.dev.ConsoleRenderer(colors=False)]
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*stamped, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            mask_secrets,
            *render,
        ],
    )
    handler = logging.StreamHandler(stream or (sys.stdout if json else sys.stderr))
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    _bridge_existing_loggers()
    set_levels(level, levels)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *stamped,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


_named: set[str] = set()
"""Loggers given a level of their own, so that a reload can take it back."""


def set_levels(level: str = "info", levels: Mapping[str, str] | None = None) -> None:
    """The levels of ``[logging]``, at start and again on SIGHUP: a logger no
    longer named follows its parent again."""
    named = {**QUIET_LIBRARIES, **(levels or {})}
    for name in _named - named.keys():
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.getLogger().setLevel(level.upper())
    for name, named_level in named.items():
        logging.getLogger(name).setLevel(named_level.upper())
    _named.clear()
    _named.update(named)
