"""The console's languages: every English text of every template has its
Persian translation (and the catalog holds nothing else), and a page reads
in the reader's language, right to left for Persian."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import httpx
import orjson
from jinja2 import Environment, nodes

from api.console.i18n import LANGUAGE_COOKIE, LOCALES, translator
from api.console.portal_protection import _SOURCES
from engine import SENDER_STATES, MessageState
from engine.billing.invoice_model import InvoiceKind
from engine.messages.lifecycle import Event
from engine.operators.bind import BindState
from engine.operators.health import Routing
from tests.api.console.conftest import log_in
from tests.api.harness import Api

TEMPLATES = Path(LOCALES).parent / "templates"
_FA = translator("fa")
"""For texts with a zero-width non-joiner (Persian plurals): clearer than the literal."""
_LITERAL = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")
_JINJA = re.compile(r"""\{#.*?#\}|\{[{%](?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|.)*?[}%]\}""", re.S)
"""A Jinja comment, expression or statement; its strings may hold ``}}``."""
_NOT_WORDS = {"smsgw", "PDF", "CSV", "UTC", "English"}
"""Names and formats shown as they are in every language."""
_DATA_WORDS = {
    *(str(s) for s in MessageState),
    *(str(e) for e in Event),
    *(s.value for s in BindState),
    *SENDER_STATES,
    *typing.get_args(Routing),
    *(str(k) for k in InvoiceKind),
    *_SOURCES.values(),
    # Set in the console's own code: the connector list's state when no bind
    # is up, the timeline's ledger steps, the price list's "priced by".
    "idle",
    "held",
    "charged",
    "released",
    "Account plan",
    "Group plan",
    "Account tariff",
    "Route",
}
"""Values that reach the pages as data and are shown through ``_(value)``."""


def _templates() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(TEMPLATES.glob("*.html"))}


def _literals() -> set[str]:
    found: set[str] = set()
    for text in _templates().values():
        for match in _LITERAL.finditer(text):
            double, single = match.groups()
            found.add(double if double is not None else single)
    return found


def _persian() -> dict[str, str]:
    return orjson.loads((LOCALES / "fa.json").read_bytes())


def test_the_regex_finds_every_constant_text_jinja_sees() -> None:
    """Cross-check of the extraction: Jinja's own parse of every template."""
    env = Environment()
    constants: set[str] = set()
    for text in _templates().values():
        for call in env.parse(text).find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "_":
                argument = call.args[0]
                if isinstance(argument, nodes.Const):
                    constants.add(argument.value)
    assert constants == _literals()
    assert len(constants) > 300


def test_every_template_text_has_a_persian_translation() -> None:
    persian = _persian()
    missing = sorted(
        text for text in _literals() | _DATA_WORDS if not persian.get(text, "").strip()
    )
    assert missing == []


def test_the_persian_catalog_holds_only_texts_the_pages_show() -> None:
    unused = sorted(set(_persian()) - _literals() - _DATA_WORDS)
    assert unused == []


def test_the_persian_catalog_is_persian() -> None:
    """A translation left in English would pass the checks above."""
    arabic_script = re.compile(r"[\u0600-\u06ff]")
    english = [text for text, words in _persian().items() if not arabic_script.search(words)]
    assert sorted(english) == ["TOTP", "URI"]


def test_no_english_text_is_left_outside_the_translator() -> None:
    """Text between tags, outside Jinja, would show in English on a Persian page."""
    left: list[str] = []
    for name, text in _templates().items():
        markup = _JINJA.sub(" ", text)
        markup = re.sub(r"<script.*?</script>", " ", markup, flags=re.S)
        for between in re.findall(r">([^<]*)<", markup):
            words = set(re.findall(r"[A-Za-z]{2,}", between)) - _NOT_WORDS
            left += [f"{name}: {word}" for word in sorted(words)]
    assert left == []


async def _portal(console: Api) -> httpx.AsyncClient:
    client = console.client
    answer = await log_in(client, "bank-user", door="portal")
    assert answer.status_code == 303
    return client


async def test_english_is_the_default(console: Api) -> None:
    client = await _portal(console)
    page = await client.get("/portal/send")
    assert '<html lang="en" dir="ltr">' in page.text
    assert '<a href="/portal/send">Send</a>' in page.text
    assert LANGUAGE_COOKIE not in page.headers.get("set-cookie", "")


async def test_a_persian_browser_reads_right_to_left(console: Api) -> None:
    client = await _portal(console)
    page = await client.get("/portal/send", headers={"Accept-Language": "fa-IR,fa;q=0.9,en;q=0.5"})
    assert '<html lang="fa" dir="rtl">' in page.text
    assert '<a href="/portal/send">ارسال</a>' in page.text
    assert '<a href="/portal">موجودی</a>' in page.text
    assert ">Send<" not in page.text


async def test_a_language_without_a_catalog_reads_as_english(console: Api) -> None:
    client = await _portal(console)
    for asked in ({"Accept-Language": "de-DE"}, {"Accept-Language": "ar"}):
        page = await client.get("/portal/send", headers=asked)
        assert '<html lang="en" dir="ltr">' in page.text
    page = await client.get("/portal/send?lang=xx", headers={"Accept-Language": "fa"})
    assert '<html lang="fa" dir="rtl">' in page.text
    for odd in ("a" * 300, "../fa", "fa.json", "EN"):
        page = await client.get("/portal/send", params={"lang": odd})
        assert page.status_code == 200
        assert '<html lang="en" dir="ltr">' in page.text


async def test_the_choice_in_the_query_is_kept_in_a_cookie(console: Api) -> None:
    client = await _portal(console)
    chosen = await client.get("/portal/send?lang=fa")
    assert '<html lang="fa" dir="rtl">' in chosen.text
    assert client.cookies.get(LANGUAGE_COOKIE) == "fa"
    later = await client.get("/portal/messages")
    assert '<html lang="fa" dir="rtl">' in later.text
    assert f'<a href="/portal/messages">{_FA("Messages")}</a>' in later.text
    back = await client.get("/portal/messages?lang=en", headers={"Accept-Language": "fa"})
    assert '<html lang="en" dir="ltr">' in back.text
    assert client.cookies.get(LANGUAGE_COOKIE) == "en"
    again = await client.get("/portal/send", headers={"Accept-Language": "fa"})
    assert '<html lang="en" dir="ltr">' in again.text


async def test_staff_pages_read_in_persian_too(console: Api) -> None:
    client = console.client
    await log_in(client, "root")
    page = await client.get("/console/accounts", headers={"Accept-Language": "fa-IR"})
    assert '<html lang="fa" dir="rtl">' in page.text
    assert f'<a href="/console/accounts">{_FA("Accounts")}</a>' in page.text
    assert f"<title>{_FA('Accounts')} · {_FA('smsgw console')}</title>" in page.text
    assert _FA("smsgw console") == "کنسول smsgw"
