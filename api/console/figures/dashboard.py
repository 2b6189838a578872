"""The staff dashboard: connectors live, the shard's figures over time
(engine.console.dashboard_sampler) drawn by console.js from /console/events."""

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
    engine = _engine(request)
    sampler = engine.platform.dashboard
    context = {
        "connectors": engine.admin.connectors(),
        "live": sampler is not None,
        "sample": sampler.latest() if sampler is not None else None,
    }
    return render(request, "dashboard.html", context)


@page
async def connectors_fragment(request: Request) -> Response:
    await require_user(request, *STAFF_ROLES)
    connectors = _engine(request).admin.connectors()
    return render(request, "_connectors.html", {"connectors": connectors})
