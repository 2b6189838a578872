"""The audit log page (/console/audit, staff): who changed what and when,
newest first, filtered by actor, action and account, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from api.console.render import render
from api.console.session import STAFF_ROLES, page, require_user
from engine import Engine
from engine.console import AuditFilter, audit_page

PAGE_SIZE = 50
_MAX_FILTER = 128


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _when(at: int) -> str:
    return datetime.fromtimestamp(at / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


@page
async def audit(request: Request) -> Response:
    await require_user(request, *STAFF_ROLES)
    query = request.query_params
    values = {k: query.get(k, "").strip()[:_MAX_FILTER] for k in ("actor", "action", "account")}
    cursor = query.get("before") or None
    if cursor is not None and not all(c.isdigit() or c == "-" for c in cursor):
        cursor = None
    found = await audit_page(_engine(request).admin.audit, AuditFilter(**values), cursor, PAGE_SIZE)
    older = None
    if found.next_cursor is not None:
        kept = {k: v for k, v in values.items() if v}
        older = "/console/audit?" + urlencode({**kept, "before": found.next_cursor})
    context = {
        "entries": found.entries,
        "values": values,
        "older": older,
        "when": _when,
        "first_page": cursor is None,
    }
    return render(request, "staff_audit.html", context)
