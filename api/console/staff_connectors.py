"""The staff console's connector pages: every connector's state, binds,
health and live rate, and one connector's figures with stop and start
(admin only), through the admin API's calls (`Administration.stop_connector`,
`start_connector`), audited as ``console:<user>``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.render import render
from api.console.session import STAFF_ROLES, page, require_user
from engine import AdminRefused, Engine, acting_as


def _engine(request: Request) -> Engine:
    return request.app.state.engine


@page
async def connectors(request: Request) -> Response:
    await require_user(request, *STAFF_ROLES)
    views = _engine(request).admin.connectors()
    return render(request, "staff_connectors.html", {"connectors": views})


@page
async def connector(request: Request) -> Response:
    await require_user(request, *STAFF_ROLES)
    try:
        view = _engine(request).admin.connector(request.path_params["connector_id"])
    except AdminRefused:
        return render(request, "forbidden.html", {"reason": "No such connector."}, 404)
    return render(request, "staff_connectors_detail.html", {"connector": view})


@page
async def connector_action(request: Request) -> Response:
    """POST ``/console/connectors/{id}/stop`` or ``/start``: as the admin API's
    ``POST /admin/connectors/{id}/stop`` (its queue waits) and ``/start``."""
    user = await require_user(request, "admin")
    connector_id = request.path_params["connector_id"]
    admin = _engine(request).admin
    actions = {"stop": admin.stop_connector, "start": admin.start_connector}
    act = actions.get(request.path_params["action"])
    if act is None:
        return render(request, "forbidden.html", {"reason": "No such action."}, 404)
    try:
        with acting_as(f"console:{user.name}"):
            await act(connector_id)
    except AdminRefused:
        return render(request, "forbidden.html", {"reason": "No such connector."}, 404)
    return RedirectResponse(f"/console/connectors/{connector_id}", status_code=303)
