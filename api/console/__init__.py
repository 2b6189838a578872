"""The web console (staff) and portal (customers), served by the gateway's
own Starlette front (docs/console.md). Server-rendered; htmx refreshes the
live parts."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from api.console import dashboard, login, portal, staff
from api.console.render import STATIC
from api.console.session import current_user, require_user
from engine import Engine
from engine.console import Console, ConsoleUsers

_BOTH = ["GET", "POST"]


def console_routes() -> list[BaseRoute]:
    return [
        Mount("/console/static", StaticFiles(directory=STATIC), name="console-static"),
        Route("/console/login", login.console_login, methods=_BOTH),
        Route("/console/logout", login.console_logout, methods=["POST"]),
        Route("/console", dashboard.dashboard, methods=["GET"]),
        Route("/console/fragments/connectors", dashboard.connectors_fragment, methods=["GET"]),
        Route("/console/accounts", staff.accounts, methods=_BOTH),
        Route("/console/accounts/{account_id}", staff.account, methods=_BOTH),
        Route("/console/accounts/{account_id}/api-keys", staff.issue_key, methods=["POST"]),
        Route("/portal/login", login.portal_login, methods=_BOTH),
        Route("/portal/logout", login.portal_logout, methods=["POST"]),
        Route("/portal", portal.home, methods=["GET"]),
        Route("/portal/send", portal.send, methods=_BOTH),
        Route("/portal/fragments/quote", portal.quote_fragment, methods=["GET"]),
        Route("/portal/messages", portal.messages, methods=["GET"]),
        Route("/portal/fragments/messages", portal.messages_fragment, methods=["GET"]),
        Route("/portal/messages.csv", portal.messages_csv, methods=["GET"]),
    ]


routes = console_routes()


def install_console(
    engine: Engine, users: ConsoleUsers, secret: bytes, secure_cookies: bool
) -> Console:
    """Attaches what the routes need as ``engine.console``; without it the
    routes are not to be mounted."""
    console = Console(users, secret, secure_cookies)
    engine.console = console
    return console


__all__ = ["console_routes", "current_user", "install_console", "require_user", "routes"]
