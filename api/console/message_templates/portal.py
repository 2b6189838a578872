"""The portal's message templates: the account's list (create, delete), and
one template's page, where its variables are filled with a live preview of
the text, its parts and its price (`Engine.quote`), and sent (`Engine.send`).

The very service the v1 API calls (`MessageTemplates`), so a template saved
here is the one ``POST /v1/messages`` sends, checked by the same rules. Each
variable is a form field ``v_<name>``: its error shows next to it.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.console.portal import PORTAL_SENDER, recipient
from api.console.render import render
from api.console.senders.portal import send_senders
from api.console.session import Halt, page, require_own_account
from engine import (
    AccountConfig,
    BadVariables,
    Engine,
    MessageTemplate,
    MessageTemplates,
    SendItem,
    TemplateIssues,
    TooManyTemplates,
)

FIELD = "v_"
"""The prefix of a variable's form field: ``{{code}}`` is filled in ``v_code``."""


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _templates(request: Request) -> MessageTemplates:
    templates = _engine(request).platform.templates
    if templates is None:
        raise Halt(render(request, "forbidden.html", {"reason": "No templates here."}, 404))
    return templates


async def _list_page(
    request: Request, account: AccountConfig, context: dict[str, object], status: int = 200
) -> Response:
    values = {
        "templates": await _templates(request).list(account.id),
        "errors": {},
        "values": {},
        **context,
    }
    return render(request, "portal_templates.html", values, status)


@page
async def templates(request: Request) -> Response:
    """GET lists the account's templates; POST saves a new one."""
    _, account = await require_own_account(request)
    if request.method == "GET":
        return await _list_page(request, account, {})
    form = await request.form()
    values = {"name": str(form.get("name", "")), "body": str(form.get("body", ""))}
    try:
        created = await _templates(request).create(account.id, values["name"], values["body"])
    except TemplateIssues as exc:
        return await _list_page(request, account, {"errors": exc.issues, "values": values}, 400)
    except TooManyTemplates as exc:
        errors = {"name": str(exc)}
        return await _list_page(request, account, {"errors": errors, "values": values}, 409)
    return RedirectResponse(f"/portal/templates/{created.id}", status_code=303)


@page
async def delete(request: Request) -> Response:
    _, account = await require_own_account(request)
    await _templates(request).delete(account.id, request.path_params["template_id"])
    return RedirectResponse("/portal/templates", status_code=303)


async def _own(request: Request, account: AccountConfig) -> MessageTemplate:
    """The account's template named in the path; another's is not found, as an unknown one."""
    found = await _templates(request).get(account.id, request.path_params["template_id"])
    if found is None:
        reason = "No such template."
        raise Halt(render(request, "forbidden.html", {"reason": reason}, 404))
    return found


def _given(template: MessageTemplate, fields: FormData | QueryParams) -> dict[str, str]:
    """The form's value of each of the template's variables (empty when absent)."""
    return {name: str(fields.get(FIELD + name, "")) for name in template.variables}


def _filled(
    request: Request, template: MessageTemplate, to: str, variables: Mapping[str, str]
) -> tuple[SendItem | None, str, dict[str, str]]:
    """The message to send (None while a field is wrong), the text as far as
    it is filled (an empty variable shows as its placeholder), and the
    errors by form field."""
    templates = _templates(request)
    errors: dict[str, str] = {}
    shown = {name: value or f"{{{{{name}}}}}" for name, value in variables.items()}
    try:
        text = templates.fill(template, shown)
    except BadVariables as exc:
        errors.update({FIELD + name: why for name, why in exc.issues.items()})
        text = ""
    errors.update({FIELD + name: "Give a value." for name, value in variables.items() if not value})
    number, wrong = recipient(to)
    if wrong:
        errors["to"] = wrong
    if errors:
        return None, text, errors
    return SendItem(to=number, sender=PORTAL_SENDER, text=text), text, {}


def _fill_context(
    template: MessageTemplate, to: str, variables: Mapping[str, str], errors: dict[str, str]
) -> dict[str, object]:
    values = {"to": to, **{FIELD + name: value for name, value in variables.items()}}
    return {"template": template, "prefix": FIELD, "values": values, "errors": errors}


@page
async def template(request: Request) -> Response:
    """GET the form to fill the template; POST sends it to the form's number."""
    _, account = await require_own_account(request)
    found = await _own(request, account)
    if request.method == "GET":
        return render(request, "portal_templates_fill.html", _fill_context(found, "", {}, {}))
    form = await request.form()
    to = str(form.get("to", "")).strip()
    variables = _given(found, form)
    item, _, errors = _filled(request, found, to, variables)
    if item is not None:
        # The account's own sender (its default, else its first approved one).
        sender = send_senders(_engine(request), account, PORTAL_SENDER)[0]
        item = msgspec.structs.replace(item, sender=sender)
        [result], _ = await _engine(request).send(account, [item])
        if result.accepted:
            return RedirectResponse("/portal/messages", status_code=303)
        errors = {"to": result.detail or result.refusal}
    context = _fill_context(found, to, variables, errors)
    return render(request, "portal_templates_fill.html", context, 400)


@page
async def preview(request: Request) -> Response:
    """The text as filled so far, and, once every field is right, its parts
    and price as `Engine.quote` (Jasmin's /rate) says."""
    _, account = await require_own_account(request)
    found = await _own(request, account)
    to = request.query_params.get("to", "").strip()
    item, text, errors = _filled(request, found, to, _given(found, request.query_params))
    quote = _engine(request).quote(account, item) if item is not None else None
    context = {"text": text, "quote": quote, "errors": errors}
    return render(request, "_portal_templates_preview.html", context)
