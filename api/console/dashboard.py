"""The staff dashboard: connectors live, and the figures of the shard."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from api.console.render import render
from api.console.session import STAFF_ROLES, page, require_user
from engine import Engine


def _engine(request: Request) -> Engine:
    return request.app.state.engine


@page
async def dashboard(request: Request) -> Response:
    await require_user(request, *STAFF_ROLES)
    return render(request, "dashboard.html", {"connectors": _engine(request).admin.connectors()})


@page
async def connectors_fragment(request: Request) -> Response:
    await require_user(request, *STAFF_ROLES)
    connectors = _engine(request).admin.connectors()
    return render(request, "_connectors.html", {"connectors": connectors})
