"""The console's words in the reader's language: English is the source
text, other languages a JSON catalog per language (``locales/<lang>.json``,
English text -> translation). A text missing from a catalog shows in English."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import orjson

LOCALES = Path(__file__).parent / "locales"
SOURCE_LANGUAGE = "en"
LANGUAGES = frozenset({SOURCE_LANGUAGE, *(path.stem for path in LOCALES.glob("*.json"))})
"""Read once: a reader's ``?lang=`` never becomes a file name."""
LANGUAGE_COOKIE = "smsgw_lang"
"""Keeps a reader's ``?lang=`` choice for the pages that follow."""


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    if lang == SOURCE_LANGUAGE or lang not in LANGUAGES:
        return {}
    return orjson.loads((LOCALES / f"{lang}.json").read_bytes())


def known(lang: str) -> bool:
    """Only English and languages with a catalog are offered: anything else
    (a typo in ``?lang=``, a browser's language we have no words for) would
    show English under another language's tag."""
    return lang in LANGUAGES


def language_tag(value: str) -> str:
    """``fa-IR;q=0.9`` -> ``fa``: the catalogs are per language, not per region."""
    return value.split(";")[0].strip().split("-")[0].lower()


def translator(lang: str) -> Callable[[str], str]:
    """``_("text")`` in templates: the catalog's translation, else the text."""
    words = catalog(lang)
    return lambda text: words.get(text, text)
