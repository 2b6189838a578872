"""Server-rendered pages: Jinja2 templates with autoescaping, and what every
page shows (the user, its CSRF token, the writing direction)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from api.console.i18n import LANGUAGE_COOKIE, known, language_tag, translator

HERE = Path(__file__).parent
STATIC = HERE / "static"
_TEMPLATES = Jinja2Templates(directory=HERE / "templates")
_RTL = {"ar", "fa", "he", "ur", "ps", "ug", "yi"}


def direction(request: Request) -> tuple[str, str]:
    """The page's language and direction: the reader's ``?lang=`` choice, else
    the one its cookie kept, else the browser's first preference; a language
    without a catalog reads as English."""
    asked = (
        request.query_params.get("lang", ""),
        request.cookies.get(LANGUAGE_COOKIE, ""),
        request.headers.get("accept-language", "").split(",")[0],
    )
    lang = next((tag for tag in map(language_tag, asked) if known(tag)), "en")
    return lang, "rtl" if lang in _RTL else "ltr"


def money(amount: int | None, currency: str = "") -> str:
    """Micro-units as the currency's units: at least two decimals, more when
    the amount has them (a price of 0.045 is not shown as 0.05). Integer
    arithmetic only: no float ever rounds a balance on screen."""
    if amount is None:
        return ""
    units, micro = divmod(abs(amount), 1_000_000)
    decimals = f"{micro:06d}".rstrip("0").ljust(2, "0")
    sign = "-" if amount < 0 else ""
    return f"{sign}{units:,}.{decimals} {currency}".strip()


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    lang, dir_ = direction(request)
    found = request.scope.get("console_session")
    values = {
        "lang": lang,
        "dir": dir_,
        "user": found[2] if found else None,
        "csrf": found[1].csrf if found else "",
        "money": money,
        "_": translator(lang),
        **(context or {}),
    }
    response = _TEMPLATES.TemplateResponse(request, template, values, status_code=status)
    if lang == language_tag(request.query_params.get("lang", "")):
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax"
        )
    return response
