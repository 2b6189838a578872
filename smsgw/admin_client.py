"""The admin API of a running shard, as the `smsgw` admin commands call it.

Accounts, connectors and routes live in the running shards (accounts reach
the others over Redis pub/sub; connectors are each shard's own), so the
commands change them where the admin API does: through that API, which runs
the engine's administration (`engine.admin`) and its audit log. There is no
second implementation to drift. The shard is the one the config file
describes (``[api]`` host and port), or ``--url`` / ``$SMSGW_ADMIN_URL``; the
admin key comes from ``$SMSGW_ADMIN_KEY`` (as `smsgw serve` reads it) or
``--admin-key-file``. Each call names its actor, ``cli:<OS user>``, for the
audit log.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
from pathlib import Path
from typing import Any

import httpx

from engine import ACTOR_HEADER
from engine.config import GatewayConfig
from smsgw.command_settings import CommandError

_ANY_INTERFACE = {"", "0.0.0.0", "::"}
_NOT_IN_ACTOR = re.compile(r"[^A-Za-z0-9_.@\-]")
_SPARE_SECONDS = 10.0
"""Beyond the shard's drain timeout: stopping a connector waits for its window."""


def cli_actor() -> str:
    """``cli:<OS user>``, as the audit log records it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = str(os.getuid())
    return "cli:" + _NOT_IN_ACTOR.sub("_", user)[:64]


def admin_url(args: argparse.Namespace, config: GatewayConfig) -> str:
    url: str | None = args.url or os.environ.get("SMSGW_ADMIN_URL")
    if url:
        return url.rstrip("/")
    if not config.api.port:
        raise CommandError("the config has no HTTP front ([api] port): pass --url", 2)
    host = "127.0.0.1" if config.api.host in _ANY_INTERFACE else config.api.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config.api.port}"


def admin_key(args: argparse.Namespace) -> str:
    if args.admin_key_file:
        try:
            key = Path(args.admin_key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CommandError(f"{args.admin_key_file}: {exc.strerror or exc}", 2) from exc
    else:
        key = os.environ.get("SMSGW_ADMIN_KEY", "")
    if not key:
        raise CommandError("no admin key: set SMSGW_ADMIN_KEY or pass --admin-key-file", 2)
    return key


class AdminApi:
    """JSON in and out; a refusal becomes a `CommandError` with its code and detail."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {key}", ACTOR_HEADER: cli_actor()}
        self.url = url
        self.client = httpx.AsyncClient(
            base_url=url, headers=headers, timeout=timeout, transport=transport
        )

    @classmethod
    def from_args(
        cls,
        args: argparse.Namespace,
        config: GatewayConfig,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> AdminApi:
        timeout = config.limits.drain_timeout + _SPARE_SECONDS
        return cls(admin_url(args, config), admin_key(args), timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON (None for 204 No Content)."""
        try:
            answer = await self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise CommandError(f"cannot reach the admin API at {self.url}: {exc}") from exc
        if answer.status_code >= 400:
            raise CommandError(_problem_line(answer))
        return answer.json() if answer.content else None


def _problem_line(answer: httpx.Response) -> str:
    """``code: detail`` of a problem+json answer, else the status line."""
    try:
        problem = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code} {answer.reason_phrase}"
    code = problem.get("code", answer.status_code)
    detail = problem.get("detail") or problem.get("title", "")
    if code == "forbidden":
        detail = "the admin key is not the one the shard expects"
    return f"{code}: {detail}"
