"""Message templates over HTTP (docs/templates.md): an account's own, by its API key.

- ``/v1/templates`` GET (the account's templates, by name), POST (JSON
  ``{"name", "body"}``): 201 with the template; a body that is not text and
  ``{{name}}`` placeholders, or too long, is a 422 ``invalid_template`` whose
  ``issues`` name each field; past ``[templates] max_per_account`` a 409
  ``too_many_templates``.
- ``/v1/templates/{id}`` GET, PUT (the same body as POST), DELETE (204); an
  id that names no template of the account is a 404 ``unknown_template``.

Sending from a template is ``POST /v1/messages`` with ``template`` and
``variables`` (`api.v1.send`, through `template_text` here): a missing,
unknown, empty or too long variable is a 422 ``invalid_variables`` whose
``variables`` say what is wrong with each, by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.admin_edge import decode, engine_of, json
from api.auth import account_of
from api.openapi import Operation, Parameter
from api.problems import Problem
from engine import (
    BadVariables,
    MessageTemplate,
    MessageTemplates,
    TemplateIssues,
    TooManyTemplates,
)

_MAX_BODY = 255 * 153


class TemplateFields(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=200, description="What you call it; 1 to 64 characters.")]
    body: Annotated[
        str,
        Meta(
            max_length=_MAX_BODY,
            description="Text with {{name}} placeholders (a-z, then a-z 0-9 _, at most 32).",
        ),
    ]


class TemplateView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    body: str
    variables: list[str]
    """The placeholders a send must fill, in order of first appearance."""
    created_at: datetime
    updated_at: datetime


class TemplateList(msgspec.Struct, frozen=True, kw_only=True):
    templates: list[TemplateView]


def _view(template: MessageTemplate) -> TemplateView:
    return TemplateView(
        id=template.id,
        name=template.name,
        body=template.body,
        variables=list(template.variables),
        created_at=_time(template.created_at),
        updated_at=_time(template.updated_at),
    )


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def templates_of(request: Request) -> MessageTemplates:
    """The shard's templates: ``Engine.platform.templates``."""
    templates: MessageTemplates | None = engine_of(request).platform.templates
    if templates is None:
        raise Problem(503, "templates_unavailable", "No message templates", "not set up here")
    return templates


def _unavailable(exc: Exception) -> Problem:
    return Problem(503, "templates_unavailable", "The template store does not answer", str(exc))


def _unknown(template_id: str) -> Problem:
    return Problem(404, "unknown_template", "No such template", template_id[:80])


def _invalid(exc: TemplateIssues) -> Problem:
    detail = "; ".join(f"$.{field}: {why}" for field, why in exc.issues.items())
    return Problem(422, "invalid_template", "Invalid template", detail, issues=exc.issues)


async def list_templates(request: Request) -> Response:
    account = await account_of(request)
    try:
        found = await templates_of(request).list(account.id)
    except RedisError as exc:
        raise _unavailable(exc) from exc
    return json(TemplateList(templates=[_view(t) for t in found]))


async def create_template(request: Request) -> Response:
    account = await account_of(request)
    fields = await decode(request, TemplateFields)
    try:
        created = await templates_of(request).create(account.id, fields.name, fields.body)
    except TemplateIssues as exc:
        raise _invalid(exc) from exc
    except TooManyTemplates as exc:
        raise Problem(409, "too_many_templates", "Too many templates", str(exc)) from exc
    except RedisError as exc:
        raise _unavailable(exc) from exc
    return json(_view(created), 201)


async def get_template(request: Request) -> Response:
    account = await account_of(request)
    template_id: str = request.path_params["template_id"]
    try:
        found = await templates_of(request).get(account.id, template_id)
    except RedisError as exc:
        raise _unavailable(exc) from exc
    if found is None:
        raise _unknown(template_id)
    return json(_view(found))


async def update_template(request: Request) -> Response:
    account = await account_of(request)
    template_id: str = request.path_params["template_id"]
    fields = await decode(request, TemplateFields)
    try:
        changed = await templates_of(request).update(
            account.id, template_id, fields.name, fields.body
        )
    except TemplateIssues as exc:
        raise _invalid(exc) from exc
    except RedisError as exc:
        raise _unavailable(exc) from exc
    if changed is None:
        raise _unknown(template_id)
    return json(_view(changed))


async def delete_template(request: Request) -> Response:
    account = await account_of(request)
    template_id: str = request.path_params["template_id"]
    try:
        deleted = await templates_of(request).delete(account.id, template_id)
    except RedisError as exc:
        raise _unavailable(exc) from exc
    if not deleted:
        raise _unknown(template_id)
    return Response(status_code=204)


async def template_text(
    request: Request, account: str, template_id: str, variables: Mapping[str, Any]
) -> str:
    """The text a send from a template carries; a 422 when the template is
    not the account's or a variable is wrong (each named in ``variables``).
    Values are JSON strings: a number would lose an OTP's leading zeros."""
    templates = templates_of(request)
    try:
        found = await templates.get(account, template_id)
    except RedisError as exc:
        raise _unavailable(exc) from exc
    if found is None:
        raise Problem(
            422, "unknown_template", "No such template", f"$.template: {template_id[:80]}"
        )
    texts = {name: value for name, value in variables.items() if isinstance(value, str)}
    issues = {name[:40]: "not a string" for name in variables.keys() - texts.keys()}
    try:
        text = templates.fill(found, texts)
    except BadVariables as exc:
        issues = {**exc.issues, **issues}
    else:
        if not issues:
            return text
    bad = BadVariables(issues)
    title = "Invalid template variables"
    raise Problem(422, "invalid_variables", title, str(bad), variables=bad.issues)


_V1 = "/v1/templates"
_ONE = f"{_V1}/{{template_id}}"

routes: list[BaseRoute] = [
    Route(_V1, list_templates, methods=["GET"]),
    Route(_V1, create_template, methods=["POST"]),
    Route(_ONE, get_template, methods=["GET"]),
    Route(_ONE, update_template, methods=["PUT"]),
    Route(_ONE, delete_template, methods=["DELETE"]),
]

_ID = Parameter(
    name="template_id",
    location="path",
    required=True,
    schema={"type": "string", "pattern": "^[0-9a-f]{16}$"},
    description="The template's id.",
)
_READ: dict[int, Any] = {401: "problem", 503: "problem"}
_WRITE: dict[int, Any] = {**_READ, 400: "problem", 415: "problem", 422: "problem"}


def _operation(method: str, path: str, summary: str, operation_id: str, **fields: Any) -> Operation:
    return Operation(
        method=method,
        path=path,
        summary=summary,
        tag="templates",
        operation_id=operation_id,
        **fields,
    )


OPERATIONS: list[Operation] = [
    _operation(
        "GET",
        _V1,
        "The account's message templates, by name",
        "listTemplates",
        responses={200: TemplateList, **_READ},
    ),
    _operation(
        "POST",
        _V1,
        "Save a message template: text with {{name}} placeholders",
        "createTemplate",
        request=TemplateFields,
        responses={201: TemplateView, 409: "problem", **_WRITE},
    ),
    _operation(
        "GET",
        _ONE,
        "One message template",
        "getTemplate",
        parameters=(_ID,),
        responses={200: TemplateView, 404: "problem", **_READ},
    ),
    _operation(
        "PUT",
        _ONE,
        "Change a message template's name and body",
        "updateTemplate",
        parameters=(_ID,),
        request=TemplateFields,
        responses={200: TemplateView, 404: "problem", **_WRITE},
    ),
    _operation(
        "DELETE",
        _ONE,
        "Delete a message template",
        "deleteTemplate",
        parameters=(_ID,),
        responses={204: None, 404: "problem", **_READ},
    ),
]
