"""The web console (staff) and portal (customers), served by the gateway's
own Starlette front (docs/console.md). Server-rendered; htmx refreshes the
live parts."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from api.console import (
    login,
    portal,
    portal_billing,
    portal_keys,
    portal_protection,
    portal_webhooks,
    staff,
    staff_audit,
    staff_billing,
    staff_connectors,
    staff_messages,
    staff_protection,
    staff_routing,
    staff_users,
)
from api.console.figures import dashboard, events, usage
from api.console.message_templates import portal as portal_templates
from api.console.render import STATIC
from api.console.resellers import portal as portal_resellers
from api.console.senders import portal as portal_senders
from api.console.senders import staff as staff_senders
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
        Route("/console/events", events.console_events, methods=["GET"]),
        Route("/portal/events", events.portal_events, methods=["GET"]),
        Route("/portal/usage", usage.usage, methods=["GET"]),
        Route("/console/accounts", staff.accounts, methods=_BOTH),
        Route("/console/accounts/{account_id}", staff.account, methods=_BOTH),
        Route("/console/accounts/{account_id}/api-keys", staff.issue_key, methods=["POST"]),
        Route("/console/accounts/{account_id}/settings", staff.account_settings, methods=["POST"]),
        Route("/console/messages", staff_messages.messages, methods=["GET"]),
        Route("/console/messages/{message_id}", staff_messages.message, methods=["GET"]),
        Route("/console/invoices", staff_billing.invoices, methods=_BOTH),
        Route("/console/invoices/{invoice_id}", staff_billing.invoice, methods=["GET"]),
        Route(
            "/console/invoices/{invoice_id}/credit-notes",
            staff_billing.credit_note,
            methods=["POST"],
        ),
        Route("/console/rates", staff_billing.rates, methods=_BOTH),
        Route("/console/rates/import", staff_billing.import_rates, methods=["POST"]),
        Route("/console/fraud", staff_protection.fraud, methods=["GET"]),
        Route("/console/fraud/lift", staff_protection.lift, methods=["POST"]),
        Route("/console/opt-outs", staff_protection.optouts, methods=_BOTH),
        Route("/console/opt-outs/remove", staff_protection.remove_optout, methods=["POST"]),
        Route("/console/connectors", staff_connectors.connectors, methods=["GET"]),
        Route("/console/connectors/{connector_id}", staff_connectors.connector, methods=["GET"]),
        Route(
            "/console/connectors/{connector_id}/{action:str}",
            staff_connectors.connector_action,
            methods=["POST"],
        ),
        Route("/console/routing", staff_routing.routing, methods=_BOTH),
        Route("/console/login/code", login.console_login_code, methods=["POST"]),
        Route("/console/users", staff_users.users, methods=_BOTH),
        Route("/console/users/{name}/disabled", staff_users.disabled, methods=["POST"]),
        Route("/console/users/{name}/password", staff_users.password, methods=["POST"]),
        Route("/console/users/{name}/totp-off", staff_users.totp_off, methods=["POST"]),
        Route("/console/totp", staff_users.totp, methods=_BOTH),
        Route("/console/audit", staff_audit.audit, methods=["GET"]),
        Route("/portal/login/code", login.portal_login_code, methods=["POST"]),
        Route("/portal/login", login.portal_login, methods=_BOTH),
        Route("/portal/logout", login.portal_logout, methods=["POST"]),
        Route("/portal", portal.home, methods=["GET"]),
        Route("/portal/send", portal.send, methods=_BOTH),
        Route("/portal/fragments/quote", portal.quote_fragment, methods=["GET"]),
        Route("/portal/messages", portal.messages, methods=["GET"]),
        Route("/portal/fragments/messages", portal.messages_fragment, methods=["GET"]),
        Route("/portal/messages.csv", portal.messages_csv, methods=["GET"]),
        Route("/portal/templates", portal_templates.templates, methods=_BOTH),
        Route("/portal/templates/{template_id}", portal_templates.template, methods=_BOTH),
        Route("/portal/templates/{template_id}/preview", portal_templates.preview, methods=["GET"]),
        Route("/portal/templates/{template_id}/delete", portal_templates.delete, methods=["POST"]),
        Route("/portal/keys", portal_keys.keys, methods=_BOTH),
        Route("/portal/keys/{key_id}/revoke", portal_keys.revoke, methods=["POST"]),
        Route("/portal/webhooks", portal_webhooks.webhooks, methods=_BOTH),
        Route("/portal/webhooks/secret", portal_webhooks.rotate_secret, methods=["POST"]),
        Route("/portal/webhooks/test", portal_webhooks.send_test, methods=["POST"]),
        Route("/portal/invoices", portal_billing.invoices, methods=["GET"]),
        Route("/portal/invoices/{invoice_id}.{form}", portal_billing.document, methods=["GET"]),
        Route("/portal/opt-outs", portal_protection.optouts, methods=_BOTH),
        Route("/portal/opt-outs/{number}/remove", portal_protection.unlist, methods=["POST"]),
        Route("/portal/verify", portal_protection.verify, methods=["GET"]),
        Route("/portal/sub-accounts", portal_resellers.sub_accounts, methods=_BOTH),
        Route("/portal/sub-accounts/credit", portal_resellers.move_credit, methods=["POST"]),
        Route("/portal/sub-accounts/markup", portal_resellers.set_markup, methods=["POST"]),
        Route("/console/sender-ids", staff_senders.queue, methods=["GET"]),
        Route("/console/sender-ids/approve", staff_senders.approve, methods=["POST"]),
        Route("/console/sender-ids/reject", staff_senders.reject, methods=["POST"]),
        Route("/portal/sender-ids", portal_senders.senders, methods=_BOTH),
    ]


routes = console_routes()


def install_console(
    engine: Engine, users: ConsoleUsers, secret: bytes, secure_cookies: bool
) -> Console:
    """Attaches what the routes need as ``engine.console``; without it the
    routes are not to be mounted."""
    console = Console(users, secret, secure_cookies)
    if users.audit is None:  # user changes land in the admin audit log
        users.audit = engine.admin.audit
    engine.console = console
    return console


__all__ = ["console_routes", "current_user", "install_console", "require_user", "routes"]
